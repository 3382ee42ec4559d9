/**
 * Forgotten passwords (OWASP Forgot Password Cheat Sheet). The request answers the same at once
 * for every email: it only stores a mail job (one insert, known address or not); looking the
 * account up, issuing the token and writing the mail all happen when the job is delivered, after
 * the response (accounts/account-mail.ts). A reset sets the new password, proves the mailbox (so the
 * address counts as verified), ends every session and refresh token, voids other reset links and
 * sends a notification. It never signs the user in.
 */
import type { Locale } from '../i18n/locales.js'
import { hashSecret } from '../secrets.js'
import { createAccountLink } from './account-links.js'
import { forgetUnprovenIdentities } from '../connections/federated-identities.js'
import { endUserAccess, type AccountContext } from './context.js'
import { passwordProblemCode, type PasswordProblem } from './password-policy.js'
import type { User } from '../model/user.js'

/**
 * `email` is canonical (normaliseEmail); nothing is sent unless an enabled account has it. The
 * mail is in the account's chosen language, else in `locale` (the page's), else the default.
 */
export function requestPasswordReset(context: AccountContext, email: string, locale?: Locale): Promise<void> {
  return context.mail.enqueue({ template: 'password_reset', email, ...(locale ? { locale } : {}) })
}

/** A fresh reset link (older ones die); also what `idp users reset-link` prints for support. */
export function passwordResetLink(context: Pick<AccountContext, 'config' | 'repos' | 'clock'>, user: Pick<User, 'id'>): Promise<string> {
  return createAccountLink(context.repos.accountTokens, {
    issuer: context.config.issuer,
    userId: user.id,
    purpose: 'reset_password',
    now: context.clock.now(),
    ttl: context.config.passwordResetTtl,
  })
}

/** Whether a reset token can still be used (the form is only shown for live links). */
export async function resetTokenIsLive(context: AccountContext, token: string): Promise<boolean> {
  return (await context.repos.accountTokens.findLive(hashSecret(token), 'reset_password', context.clock.now())) !== undefined
}

export type ResetResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'expired' }
  | { readonly ok: false; readonly reason: 'password'; readonly problem: PasswordProblem }

export async function completePasswordReset(context: AccountContext, token: string, newPassword: string): Promise<ResetResult> {
  // The password is judged first, so a refused password does not use up the link.
  const problem = passwordProblemCode(newPassword)
  if (problem !== null)
    return (await resetTokenIsLive(context, token)) ? { ok: false, reason: 'password', problem } : { ok: false, reason: 'expired' }
  const passwordHash = await context.hasher.hash(newPassword)
  const now = context.clock.now()
  const userId = await context.repos.accountTokens.consume(hashSecret(token), 'reset_password', now)
  if (userId === undefined) return { ok: false, reason: 'expired' }
  const user = await context.repos.users.findById(userId)
  if (!user || user.disabledAt !== null) return { ok: false, reason: 'expired' }
  await context.repos.users.updatePasswordHash(user.id, passwordHash, now)
  await forgetUnprovenIdentities(context, user)
  await context.repos.users.markEmailVerified(user.id, now)
  await context.repos.accountTokens.voidAll(user.id, 'reset_password', now)
  await endUserAccess(context, user.id)
  await context.audit.record('password_reset', { userId: user.id }, 'password reset; all sessions and refresh tokens revoked')
  await context.mail.enqueue({ template: 'password_changed', userId: user.id, how: 'reset' })
  return { ok: true }
}
