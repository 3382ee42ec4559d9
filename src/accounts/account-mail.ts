/**
 * Account mails as stored in the durable outbox (mail/outbox.ts): which mail, and the identifiers
 * it is built from when it is delivered — never a link or a token. Single-use links (verification,
 * reset) are issued at delivery, so only their hashes are ever stored (account_tokens); a retried
 * delivery issues a fresh link and voids the undelivered one. Recipient and name are read at
 * delivery too. The payload is read back field by field: rows outlive code versions.
 *
 * Each mail is in its recipient's language: the one the user chose (users.locale) when the mail is
 * about an account, else the one the job carries (the page's language when it was queued, or the
 * deleted user's choice), else DEFAULT_LOCALE. A row without a language (queued by an older
 * version) or naming one this version does not ship is delivered all the same.
 */
import type { Deps } from '../deps.js'
import { isLocale, type Locale } from '../i18n/locales.js'
import type { Translator } from '../i18n/translator.js'
import type { MailBuilder } from '../mail/outbox.js'
import type { User } from '../model/user.js'
import { JobRefused } from '../outbox/outbox.js'
import { createAccountLink } from './account-links.js'
import { accountDeletedMail } from './deletion-mail.js'
import {
  factorChangedMail,
  passwordChangedMail,
  resetPasswordMail,
  signupAttemptMail,
  verifyEmailMail,
  type FactorChange,
} from './mails.js'
import { passwordResetLink } from './password-reset.js'

type AccountMailJob =
  /** A verification link for the user's address. */
  | { readonly template: 'verify_email'; readonly userId: string }
  /** A reset link, if an enabled account has this (canonical) address: looked up after the response. */
  | { readonly template: 'password_reset'; readonly email: string }
  /** Someone tried to sign up with the address of an existing account: its owner is told. */
  | { readonly template: 'signup_attempt'; readonly email: string }
  | { readonly template: 'password_changed'; readonly userId: string; readonly how: 'reset' | 'changed' }
  | { readonly template: 'factor_changed'; readonly userId: string; readonly change: FactorChange }
  /**
   * The owner deleted the account. Unlike every other mail, it goes to the address in the job as
   * is, without looking an account up: it is delivered after the account row is gone. The address
   * and the owner's language are all it keeps (no name); finished outbox rows are pruned like any other.
   */
  | { readonly template: 'account_deleted'; readonly email: string }

export type AccountMail = AccountMailJob & {
  /** The language to write in when the recipient chose none; absent: DEFAULT_LOCALE. */
  readonly locale?: Locale
}

type MailDeps = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit' | 'i18n'>

const HOWS: readonly string[] = ['reset', 'changed']
const CHANGES: readonly string[] = [
  'passkey_added',
  'passkey_removed',
  'totp_added',
  'totp_removed',
  'recovery_code_used',
  'recovery_codes_renewed',
  'factors_reset',
] satisfies readonly FactorChange[]

/** The stored job, checked field by field. */
function accountMail(payload: unknown): AccountMail {
  const fields = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>
  const text = (name: string): string => {
    const value = fields[name]
    if (typeof value !== 'string' || value === '') throw new JobRefused(`the mail job has no ${name}`)
    return value
  }
  // Optional, and never a reason to refuse: older rows have none, newer ones may name a language
  // this version does not ship.
  const locale = fields['locale']
  const language = isLocale(locale) ? { locale } : {}
  const template = text('template')
  switch (template) {
    case 'verify_email':
      return { template, userId: text('userId'), ...language }
    case 'password_reset':
    case 'signup_attempt':
    case 'account_deleted':
      return { template, email: text('email'), ...language }
    case 'password_changed': {
      const how = text('how')
      if (!HOWS.includes(how)) throw new JobRefused('the mail job has an unknown how')
      return { template, userId: text('userId'), how: how as 'reset' | 'changed', ...language }
    }
    case 'factor_changed': {
      const change = text('change')
      if (!CHANGES.includes(change)) throw new JobRefused('the mail job has an unknown change')
      return { template, userId: text('userId'), change: change as FactorChange, ...language }
    }
    default:
      throw new JobRefused(`unknown mail template ${template}`)
  }
}

/** Builds account mails at delivery time. */
export function accountMailBuilder(deps: MailDeps): MailBuilder {
  const forgotPasswordUrl = `${deps.config.issuer}/forgot-password`
  /** The recipient's language: their saved choice, else the job's, else the configured default. */
  const wordsFor = (job: AccountMail, user: Pick<User, 'locale'> | null): Translator =>
    deps.i18n.translator((isLocale(user?.locale) ? user.locale : null) ?? job.locale ?? deps.config.defaultLocale)
  return {
    kind(payload) {
      const template = (payload as { template?: unknown } | null)?.template
      return typeof template === 'string' ? template : null
    },

    async build(payload, attempt) {
      const job = accountMail(payload)
      switch (job.template) {
        case 'verify_email': {
          const user = await deps.repos.users.findById(job.userId)
          if (!user) return null
          const ttl = deps.config.emailVerificationTtl
          const link = await createAccountLink(deps.repos.accountTokens, {
            issuer: deps.config.issuer,
            userId: user.id,
            purpose: 'verify_email',
            now: deps.clock.now(),
            ttl,
          })
          return { to: user.email, content: verifyEmailMail(wordsFor(job, user), user.name, link, ttl) }
        }
        case 'password_reset': {
          const user = await deps.repos.users.findByEmail(job.email)
          if (!user || user.disabledAt !== null) return null
          const link = await passwordResetLink(deps, user)
          // Once per request, not once per delivery attempt.
          if (attempt.attempts === 1) await deps.audit.record('password_reset_requested', { userId: user.id }, 'password reset link sent')
          return { to: user.email, content: resetPasswordMail(wordsFor(job, user), user.name, link, deps.config.passwordResetTtl) }
        }
        case 'signup_attempt': {
          const owner = await deps.repos.users.findByEmail(job.email)
          return owner ? { to: owner.email, content: signupAttemptMail(wordsFor(job, owner), owner.name, forgotPasswordUrl) } : null
        }
        case 'password_changed': {
          const user = await deps.repos.users.findById(job.userId)
          return user ? { to: user.email, content: passwordChangedMail(wordsFor(job, user), user.name, job.how, forgotPasswordUrl) } : null
        }
        case 'factor_changed': {
          const user = await deps.repos.users.findById(job.userId)
          if (!user) return null
          return {
            to: user.email,
            content: factorChangedMail(wordsFor(job, user), user.name, job.change, `${deps.config.issuer}/account`),
          }
        }
        case 'account_deleted':
          return { to: job.email, content: accountDeletedMail(wordsFor(job, null), deps.config.issuer) }
      }
    },
  }
}
