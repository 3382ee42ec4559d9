/**
 * Changing the password from the account page: the current password is required, the new one
 * must pass the policy, every other session ends and every refresh token dies; the session that
 * made the change stays. The owner gets a notification mail.
 */
import { endUserAccess, type AccountContext } from './context.js'
import { MAX_PASSWORD_LENGTH } from './password-hasher.js'
import { passwordProblem } from './password-policy.js'
import { hasPassword, type User } from '../model/user.js'

export type ChangeResult =
  { readonly ok: true } | { readonly ok: false; readonly field: 'current_password' | 'password'; readonly problem: string }

export async function changePassword(
  context: AccountContext,
  user: User,
  sessionIdHash: string,
  currentPassword: string,
  newPassword: string,
): Promise<ChangeResult> {
  const currentOk =
    hasPassword(user) && currentPassword.length <= MAX_PASSWORD_LENGTH && (await context.hasher.verify(user.passwordHash, currentPassword))
  if (!currentOk) {
    await context.audit.record('password_change_failure', { userId: user.id }, 'password change refused: wrong current password')
    return { ok: false, field: 'current_password', problem: 'Your current password is not correct.' }
  }
  const problem = passwordProblem(newPassword)
  if (problem !== null) return { ok: false, field: 'password', problem }
  const now = context.clock.now()
  await context.repos.users.updatePasswordHash(user.id, await context.hasher.hash(newPassword), now)
  await context.repos.accountTokens.voidAll(user.id, 'reset_password', now)
  await endUserAccess(context, user.id, sessionIdHash)
  await context.audit.record('password_changed', { userId: user.id }, 'password changed; other sessions and refresh tokens revoked')
  await context.mail.enqueue({ template: 'password_changed', userId: user.id, how: 'changed' })
  return { ok: true }
}
