/**
 * The login-session cookie: an opaque 256-bit reference to a row in `sessions`. HttpOnly,
 * SameSite=Lax, and under https Secure with the __Host- prefix (no Domain, Path=/).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'
import type { LoginSession } from '../model/session.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import { endSession } from '../sessions/end-session.js'
import { readOnce } from './page-reads.js'

export interface CookieNames {
  readonly session: string
  readonly csrf: string
}

export const cookieNames = (https: boolean): CookieNames =>
  https ? { session: '__Host-tessera_session', csrf: '__Host-tessera_csrf' } : { session: 'tessera_session', csrf: 'tessera_csrf' }

/**
 * The current live session, applying the idle timeout; undefined when there is none. The first
 * call in a page's request uses the row its language hook read (page-reads.ts).
 */
export async function currentSession(deps: Deps, request: FastifyRequest): Promise<LoginSession | undefined> {
  const raw = request.cookies[cookieNames(deps.config.issuerIsHttps).session]
  if (raw === undefined || raw.length > 128) return undefined
  const now = deps.clock.now()
  const hash = hashSecret(raw)
  const session = await readOnce(request, 'session', hash, () => deps.repos.sessions.findLive(hash, now))
  if (!session) return undefined
  if (session.lastSeenAt + deps.config.sessionIdleTtl <= now) {
    // Idle too long: ended like the expiry sweep would (its relying parties are told).
    await endSession(deps, { idHash: session.idHash, userId: session.userId, reason: 'expired', ip: request.ip })
    return undefined
  }
  // Only write when the idle clock moved noticeably: avoids a write per request.
  if (now - session.lastSeenAt >= 60) await deps.repos.sessions.touch(session.idHash, now)
  return session
}

/**
 * A new session id at every login and every step-up (no fixation); the previous session of this
 * browser ends. The same user signing in again keeps the public `sid` (relying parties match
 * their ID tokens and logout tokens by it); another user gets a new one. `amr`: how the user just
 * authenticated (a step-up passes the methods combined).
 */
export async function startSession(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
  amr: readonly AuthenticationMethod[],
): Promise<LoginSession> {
  const names = cookieNames(deps.config.issuerIsHttps)
  const now = deps.clock.now()
  const id = randomToken()
  const userAgent = request.headers['user-agent']?.slice(0, 200) ?? null
  const previousCookie = request.cookies[names.session]
  const previous =
    previousCookie !== undefined && previousCookie.length <= 128
      ? await deps.repos.sessions.findLive(hashSecret(previousCookie), now)
      : undefined
  const renewal = previous?.userId === userId
  const session: LoginSession = {
    idHash: hashSecret(id),
    userId,
    authTime: now,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + deps.config.sessionTtl,
    handle: randomId(),
    userAgent,
    amr,
    sid: renewal && previous.sid !== '' ? previous.sid : randomId(),
  }
  await deps.repos.sessions.insert(session)
  if (renewal) {
    // Same user: the browser's grants and codes follow it to the new session, so a later logout ends them.
    await deps.repos.sessions.end(previous.idHash, now)
    await deps.repos.grants.moveToSession(previous.idHash, session.idHash)
  } else if (previous) {
    // Another user: the old user's browser session is over, as if they had logged out.
    await endSession(deps, { idHash: previous.idHash, userId: previous.userId, reason: 'replaced', ip: request.ip })
  }
  reply.setCookie(names.session, id, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.config.issuerIsHttps,
    maxAge: deps.config.sessionTtl,
  })
  return session
}

export function clearSessionCookie(deps: Deps, reply: FastifyReply): void {
  reply.clearCookie(cookieNames(deps.config.issuerIsHttps).session, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.config.issuerIsHttps,
  })
}
