/**
 * Ending login sessions, whichever surface asks (logout, the account page, a new sign-in by
 * another user in the same browser, a password reset or a disabled account, the expiry sweep,
 * later the admin API). In one transaction the sessions end, their grants are revoked with their
 * access and refresh tokens, and every client that received tokens in them and registered a
 * back-channel logout URI gets an outbox job (sessions/backchannel-logout.ts); the request that
 * ended the session never waits for a relying party. Unredeemed codes die with their session
 * (codes are redeemable only while it is live).
 *
 * offline_access grants die with the session too when a person ends it (logout, the account page,
 * another user signing in, a reset or a disabled account): "sign out" means every token the
 * session gave out. Only expiry spares them: the session ran out on its own, and offline access
 * exists so that a client keeps working while the user is away (OIDC Core §11); its relying
 * parties are still told the session is over.
 */
import type { Deps } from '../deps.js'
import { actorLabel, type Actor } from '../model/actor.js'
import type { EndedSession } from '../model/session.js'
import type { SessionEnding, SessionSelection } from '../db/repositories/sessions.js'
import { backchannelLogoutJobs } from './backchannel-logout.js'

export type SessionEndReason = 'logout' | 'ended_by_user' | 'ended_by_admin' | 'replaced' | 'expired'

export interface EndSessionInput {
  readonly idHash: string
  readonly userId: string
  readonly reason: SessionEndReason
  readonly ip?: string | undefined
  /** Who ended it when that is not the session's own user (an admin): recorded with the event. */
  readonly actor?: Actor | undefined
}

type EndingDeps = Pick<Deps, 'repos' | 'clock' | 'audit' | 'outbox'>

const MESSAGES: Record<Exclude<SessionEndReason, 'expired'>, string> = {
  logout: 'session ended',
  ended_by_user: 'user ended a session',
  ended_by_admin: 'an admin ended a session',
  replaced: 'session replaced by another user signing in',
}

/** Sessions expired per transaction in a sweep: short write locks, requests keep flowing. */
const SWEEP_BATCH = 200

async function end(deps: EndingDeps, selection: SessionSelection, revoke: SessionEnding['revoke']): Promise<EndedSession[]> {
  let jobs = 0
  const ended = await deps.repos.sessions.endMany(selection, {
    now: deps.clock.now(),
    revoke,
    jobs: (sessions, clients) => {
      const made = backchannelLogoutJobs(deps.outbox, sessions, clients)
      jobs += made.length
      return made
    },
  })
  if (jobs > 0) deps.outbox.nudge()
  return ended
}

export async function endSession(deps: EndingDeps, input: EndSessionInput): Promise<void> {
  const ended = await end(deps, { idHash: input.idHash }, input.reason === 'expired' ? 'online' : 'all')
  // Ended already (by a concurrent request, or before): nothing happened here.
  if (ended.length === 0 || input.reason === 'expired') return
  await deps.audit.record(
    input.reason === 'logout' ? 'logout' : 'revocation',
    {
      userId: input.userId,
      ip: input.ip,
      detail: { kind: 'session', reason: input.reason, actor: input.actor && actorLabel(input.actor) },
    },
    MESSAGES[input.reason],
  )
}

/** Every session of a user, or all but the one given (password change), as if each were logged out. */
export async function endUserSessions(deps: EndingDeps, userId: string, exceptIdHash?: string): Promise<number> {
  const selection = exceptIdHash === undefined ? { userId } : { userId, exceptIdHash }
  return (await end(deps, selection, 'all')).length
}

/**
 * An operator ends every session of a user (all but `exceptIdHash`, the operator's own browser),
 * each as if logged out; audited with the actor when any ended. Returns how many ended.
 */
export async function endSessionsByOperator(
  deps: EndingDeps,
  input: { readonly userId: string; readonly actor: Actor; readonly ip?: string | undefined; readonly exceptIdHash?: string | undefined },
): Promise<number> {
  const ended = await endUserSessions(deps, input.userId, input.exceptIdHash)
  if (ended > 0)
    await deps.audit.record(
      'revocation',
      { userId: input.userId, ip: input.ip, detail: { kind: 'all_sessions', sessions: ended, actor: actorLabel(input.actor) } },
      'an operator ended every session of a user',
    )
  return ended
}

/**
 * The expiry sweep (maintenance.ts): sessions past their absolute lifetime or idle longer than
 * SESSION_IDLE_TTL that nobody has ended yet end now, and their relying parties are told.
 * Returns how many ended.
 */
export async function endExpiredSessions(deps: EndingDeps & Pick<Deps, 'config'>): Promise<number> {
  let total = 0
  for (;;) {
    const now = deps.clock.now()
    const selection = { expiredAt: now, idleBefore: now - deps.config.sessionIdleTtl, limit: SWEEP_BATCH }
    const ended = await end(deps, selection, 'online')
    total += ended.length
    if (ended.length < SWEEP_BATCH) return total
    // better-sqlite3 runs each statement on the event loop: let requests in between batches.
    await new Promise((resolve) => setImmediate(resolve))
  }
}
