/**
 * The words of every account mail, in the recipient's language (the translator's): messages
 * `mail.*` of src/i18n/messages/<locale>/mail.json. Links are complete URLs built from the issuer.
 */
import type { Translator } from '../i18n/translator.js'
import type { MailContent } from '../mail/message.js'

const greeting = (words: Translator, name: string | null) =>
  name ? words.t('mail.greeting', { name }) : words.t('mail.greeting_anonymous')

/** A lifetime as the messages count it: whole hours from two hours on, minutes below (hours 0). */
const hoursOrMinutes = (seconds: number) =>
  seconds >= 7200 ? { hours: Math.round(seconds / 3600), minutes: 0 } : { hours: 0, minutes: Math.round(seconds / 60) }

export function verifyEmailMail(words: Translator, name: string | null, link: string, ttl: number): MailContent {
  return {
    translator: words,
    subject: words.t('mail.verify_email.subject'),
    paragraphs: [greeting(words, name), words.t('mail.verify_email.intro'), words.t('mail.verify_email.expiry', hoursOrMinutes(ttl))],
    action: { label: words.t('mail.verify_email.action'), url: link },
  }
}

export function signupAttemptMail(words: Translator, name: string | null, forgotPasswordUrl: string): MailContent {
  return {
    translator: words,
    subject: words.t('mail.signup_attempt.subject'),
    paragraphs: [greeting(words, name), words.t('mail.signup_attempt.text'), words.t('mail.signup_attempt.advice')],
    action: { label: words.t('mail.signup_attempt.action'), url: forgotPasswordUrl },
  }
}

export function resetPasswordMail(words: Translator, name: string | null, link: string, ttl: number): MailContent {
  return {
    translator: words,
    subject: words.t('mail.password_reset.subject'),
    paragraphs: [
      greeting(words, name),
      words.t('mail.password_reset.intro'),
      words.t('mail.password_reset.expiry', { minutes: Math.round(ttl / 60) }),
    ],
    action: { label: words.t('mail.password_reset.action'), url: link },
  }
}

export function passwordChangedMail(
  words: Translator,
  name: string | null,
  how: 'reset' | 'changed',
  forgotPasswordUrl: string,
): MailContent {
  return {
    translator: words,
    subject: words.t('mail.password_changed.subject'),
    paragraphs: [
      greeting(words, name),
      words.t(how === 'reset' ? 'mail.password_changed.reset' : 'mail.password_changed.changed'),
      words.t('mail.not_you'),
    ],
    action: { label: words.t('mail.password_changed.action'), url: forgotPasswordUrl },
  }
}

export type FactorChange =
  'passkey_added' | 'passkey_removed' | 'totp_added' | 'totp_removed' | 'recovery_code_used' | 'recovery_codes_renewed' | 'factors_reset'

/** The message keys of each change, written out so the catalogue test finds every one. */
const FACTOR_CHANGES: Readonly<Record<FactorChange, { readonly subject: string; readonly text: string }>> = {
  passkey_added: { subject: 'mail.factor_changed.passkey_added.subject', text: 'mail.factor_changed.passkey_added.text' },
  passkey_removed: { subject: 'mail.factor_changed.passkey_removed.subject', text: 'mail.factor_changed.passkey_removed.text' },
  totp_added: { subject: 'mail.factor_changed.totp_added.subject', text: 'mail.factor_changed.totp_added.text' },
  totp_removed: { subject: 'mail.factor_changed.totp_removed.subject', text: 'mail.factor_changed.totp_removed.text' },
  recovery_code_used: { subject: 'mail.factor_changed.recovery_code_used.subject', text: 'mail.factor_changed.recovery_code_used.text' },
  recovery_codes_renewed: {
    subject: 'mail.factor_changed.recovery_codes_renewed.subject',
    text: 'mail.factor_changed.recovery_codes_renewed.text',
  },
  factors_reset: { subject: 'mail.factor_changed.factors_reset.subject', text: 'mail.factor_changed.factors_reset.text' },
}

/** Whenever a factor is added or removed or a recovery code is used: the owner hears of it. */
export function factorChangedMail(words: Translator, name: string | null, change: FactorChange, accountUrl: string): MailContent {
  const keys = FACTOR_CHANGES[change]
  return {
    translator: words,
    subject: words.t(keys.subject),
    paragraphs: [greeting(words, name), words.t(keys.text), words.t('mail.not_you')],
    action: { label: words.t('mail.factor_changed.action'), url: accountUrl },
  }
}
