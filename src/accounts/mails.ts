/** The words of every account mail. Links are complete URLs built from the issuer. */
import type { MailContent } from '../mail/message.js'

const greeting = (name: string | null) => (name ? `Hello ${name},` : 'Hello,')
const minutes = (seconds: number) => `${Math.round(seconds / 60)} minutes`
const hours = (seconds: number) => (seconds >= 7200 ? `${Math.round(seconds / 3600)} hours` : minutes(seconds))

export function verifyEmailMail(name: string | null, link: string, ttl: number): MailContent {
  return {
    subject: 'Confirm your email address',
    paragraphs: [
      greeting(name),
      'Please confirm that this is your email address.',
      `The link works once and expires in ${hours(ttl)}. If you did not create an account, ignore this mail.`,
    ],
    action: { label: 'Confirm email address', url: link },
  }
}

export function signupAttemptMail(name: string | null, forgotPasswordUrl: string): MailContent {
  return {
    subject: 'Someone tried to sign up with your address',
    paragraphs: [
      greeting(name),
      'Someone tried to create an account with this email address, but you already have one. No new account was created.',
      'If that was you and you forgot your password, you can choose a new one. If it was not you, you can ignore this mail.',
    ],
    action: { label: 'Reset your password', url: forgotPasswordUrl },
  }
}

export function resetPasswordMail(name: string | null, link: string, ttl: number): MailContent {
  return {
    subject: 'Reset your password',
    paragraphs: [
      greeting(name),
      'Someone asked to reset the password of your account. If it was you, choose a new password with the link below.',
      `The link works once and expires in ${minutes(ttl)}. If you did not ask, ignore this mail: your password stays as it is.`,
    ],
    action: { label: 'Choose a new password', url: link },
  }
}

export function passwordChangedMail(name: string | null, how: 'reset' | 'changed', forgotPasswordUrl: string): MailContent {
  return {
    subject: 'Your password was changed',
    paragraphs: [
      greeting(name),
      how === 'reset'
        ? 'The password of your account was just reset with a link sent to this address. You were signed out everywhere.'
        : 'The password of your account was just changed. Your other sessions were signed out.',
      'If you did not do this, reset your password now and tell your administrator.',
    ],
    action: { label: 'Reset your password', url: forgotPasswordUrl },
  }
}

export type FactorChange =
  'passkey_added' | 'passkey_removed' | 'totp_added' | 'totp_removed' | 'recovery_code_used' | 'recovery_codes_renewed' | 'factors_reset'

const FACTOR_CHANGES: Readonly<Record<FactorChange, { subject: string; text: string }>> = {
  passkey_added: {
    subject: 'A passkey was added to your account',
    text: 'A passkey was added to your account. It can now sign you in without a password.',
  },
  passkey_removed: {
    subject: 'A passkey was removed from your account',
    text: 'A passkey was removed from your account. It no longer signs you in.',
  },
  totp_added: {
    subject: 'An authenticator app was set up for your account',
    text: 'An authenticator app was set up for your account: signing in with your password now also asks for a code from it.',
  },
  totp_removed: {
    subject: 'The authenticator app was removed from your account',
    text: 'The authenticator app was removed from your account: its codes no longer work.',
  },
  recovery_code_used: {
    subject: 'A recovery code was used to sign in',
    text: 'One of your recovery codes was just used to sign in to your account. Each code works once.',
  },
  recovery_codes_renewed: {
    subject: 'New recovery codes were made for your account',
    text: 'New recovery codes were made for your account; the previous ones no longer work.',
  },
  factors_reset: {
    subject: 'Your second factors were reset',
    text: 'An administrator removed the passkeys, the authenticator app and the recovery codes of your account. Sign in with your password and set up a second factor again.',
  },
}

/** Whenever a factor is added or removed or a recovery code is used: the owner hears of it. */
export function factorChangedMail(name: string | null, change: FactorChange, accountUrl: string): MailContent {
  const { subject, text } = FACTOR_CHANGES[change]
  return {
    subject,
    paragraphs: [greeting(name), text, 'If you did not do this, reset your password now and tell your administrator.'],
    action: { label: 'Review your account', url: accountUrl },
  }
}
