import type { Deps } from '../deps.js'

/** What the account flows use; a narrow view of Deps so they stay easy to test. */
export type AccountContext = Pick<Deps, 'config' | 'repos' | 'hasher' | 'dummyHash' | 'mail' | 'audit' | 'clock' | 'log'>

/** Ends the user's sessions (all, or all but one) and revokes every grant with its tokens. */
export async function endUserAccess(context: AccountContext, userId: string, keepSessionIdHash?: string): Promise<void> {
  const now = context.clock.now()
  if (keepSessionIdHash === undefined) await context.repos.sessions.endAllForUser(userId, now)
  else await context.repos.sessions.endOthersForUser(userId, keepSessionIdHash, now)
  await context.repos.grants.revokeAllForUser(userId, now)
}

export const forgotPasswordUrl = (context: AccountContext): string => `${context.config.issuer}/forgot-password`
