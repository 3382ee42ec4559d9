import type { Deps } from '../deps.js'
import { endUserSessions } from '../sessions/end-session.js'

/** What the account flows use; a narrow view of Deps so they stay easy to test. */
export type AccountContext = Pick<Deps, 'config' | 'repos' | 'hasher' | 'dummyHash' | 'mail' | 'outbox' | 'audit' | 'clock' | 'log'>

/**
 * Ends the user's sessions (all, or all but one) as a logout would — their relying parties get
 * back-channel logout tokens — and revokes every grant with its tokens, the kept session's too.
 */
export async function endUserAccess(context: AccountContext, userId: string, keepSessionIdHash?: string): Promise<void> {
  await endUserSessions(context, userId, keepSessionIdHash)
  await context.repos.grants.revokeAllForUser(userId, context.clock.now())
}
