/**
 * Ending a login session, whichever surface asks (logout, the account page, a new sign-in by
 * another user in the same browser, later the admin API): the session row ends, the grants bound
 * to it are revoked with their access and refresh tokens (offline grants live on: OIDC Core §11),
 * its unredeemed codes die with it (codes are redeemable only while their session is live), and
 * the event is audited.
 */
import type { Deps } from '../deps.js'

export type SessionEndReason = 'logout' | 'ended_by_user' | 'replaced'

export interface EndSessionInput {
  readonly idHash: string
  readonly userId: string
  readonly reason: SessionEndReason
  readonly ip?: string | undefined
}

const MESSAGES: Record<SessionEndReason, string> = {
  logout: 'session ended',
  ended_by_user: 'user ended a session',
  replaced: 'session replaced by another user signing in',
}

export async function endSession(deps: Pick<Deps, 'repos' | 'clock' | 'audit'>, input: EndSessionInput): Promise<void> {
  const now = deps.clock.now()
  await deps.repos.sessions.end(input.idHash, now)
  await deps.repos.grants.revokeForSession(input.idHash, now)
  const type = input.reason === 'logout' ? 'logout' : 'revocation'
  await deps.audit.record(
    type,
    { userId: input.userId, ip: input.ip, detail: { kind: 'session', reason: input.reason } },
    MESSAGES[input.reason],
  )
}
