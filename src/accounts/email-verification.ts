/**
 * Email verification: a single-use link by mail; until it is used `email_verified` stays false
 * in ID tokens and userinfo.
 */
import { hashSecret } from '../secrets.js'
import type { AccountContext } from './context.js'
import type { User } from '../model/user.js'

/** Queues a verification mail; its fresh link is issued when it is sent (older links of this user stop working). */
export function sendVerificationMail(context: AccountContext, user: Pick<User, 'id'>): Promise<void> {
  return context.mail.enqueue({ template: 'verify_email', userId: user.id })
}

/** Uses up a verification token; the verified user's id, or undefined when the link is dead. */
export async function verifyEmail(context: AccountContext, token: string): Promise<string | undefined> {
  const now = context.clock.now()
  const userId = await context.repos.accountTokens.consume(hashSecret(token), 'verify_email', now)
  if (userId === undefined) return undefined
  await context.repos.users.markEmailVerified(userId, now)
  await context.audit.record('email_verified', { userId }, 'email address verified')
  return userId
}
