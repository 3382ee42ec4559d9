/**
 * A sign-in between its factors: after the password (or for a session stepping up) the browser
 * holds an opaque 256-bit reference to a pending_logins row (HttpOnly, SameSite=Lax, __Host-
 * under https) for a few minutes; the second factor completes it once.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { PendingLogin } from '../model/factors.js'
import type { Acr } from '../oauth/acr.js'
import { hashSecret, randomToken } from '../secrets.js'

/** Long enough to find the phone and type a code; short enough that an abandoned one dies. */
const PENDING_SECONDS = 300

export const pendingLoginCookie = (https: boolean): string => (https ? '__Host-tessera_pending' : 'tessera_pending')
const cookieName = pendingLoginCookie

export interface PendingStart {
  readonly userId: string
  readonly amr: readonly AuthenticationMethod[]
  readonly interactionId: string | null
  /** The session that steps up; null for a sign-in in progress. */
  readonly sessionIdHash: string | null
  /**
   * The class the second factor must reach (a step-up for an application's acr, RFC 9470):
   * only factors that reach it are offered and accepted. Absent or null: any second factor.
   */
  readonly requiredAcr?: Acr | null
}

export async function startPendingLogin(
  deps: Pick<Deps, 'repos' | 'clock' | 'config'>,
  reply: FastifyReply,
  start: PendingStart,
): Promise<void> {
  const id = randomToken()
  const now = deps.clock.now()
  await deps.repos.pendingLogins.insert({
    idHash: hashSecret(id),
    ...start,
    requiredAcr: start.requiredAcr ?? null,
    createdAt: now,
    expiresAt: now + PENDING_SECONDS,
  })
  const https = deps.config.issuerIsHttps
  reply.setCookie(cookieName(https), id, { path: '/', httpOnly: true, sameSite: 'lax', secure: https, maxAge: PENDING_SECONDS })
}

export async function currentPendingLogin(
  deps: Pick<Deps, 'repos' | 'clock' | 'config'>,
  request: FastifyRequest,
): Promise<PendingLogin | undefined> {
  const raw = request.cookies[cookieName(deps.config.issuerIsHttps)]
  if (raw === undefined || raw.length > 128) return undefined
  return deps.repos.pendingLogins.findLive(hashSecret(raw), deps.clock.now())
}

export function clearPendingLogin(deps: Pick<Deps, 'config'>, reply: FastifyReply): void {
  const https = deps.config.issuerIsHttps
  reply.clearCookie(cookieName(https), { path: '/', httpOnly: true, sameSite: 'lax', secure: https })
}
