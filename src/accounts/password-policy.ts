/**
 * The rules for a new password (NIST SP 800-63B §5.1.1.2, OWASP ASVS V2.1): long enough, not
 * absurdly long, not on a list of common passwords, and nothing else — no composition rules.
 * The password is judged exactly as typed; only the common-list lookup ignores letter case, so
 * "Password1" is refused like "password1".
 */
import { dictionary } from '@zxcvbn-ts/language-common'
import { MAX_PASSWORD_LENGTH } from './password-hasher.js'

export const MIN_PASSWORD_LENGTH = 8
/** What the pages ask for; only MIN_PASSWORD_LENGTH is enforced. */
export const SUGGESTED_PASSWORD_LENGTH = 12

// About 49,000 passwords from leaked-password corpora, maintained by the zxcvbn-ts project.
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(dictionary['passwords-common'])

/** Why a password cannot be used: a stable code that pages translate (`password.problem.<code>`). */
export type PasswordProblem = 'too_short' | 'too_long' | 'too_common'

/** The numbers the problems name, as values for their messages. */
export const PASSWORD_LIMITS = { min: MIN_PASSWORD_LENGTH, suggested: SUGGESTED_PASSWORD_LENGTH, max: MAX_PASSWORD_LENGTH } as const

/** Why this password cannot be used; null when it is acceptable. */
export function passwordProblemCode(password: string): PasswordProblem | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return 'too_short'
  if (password.length > MAX_PASSWORD_LENGTH) return 'too_long'
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return 'too_common'
  return null
}

const ENGLISH: Readonly<Record<PasswordProblem, string>> = {
  too_short: `Use at least ${MIN_PASSWORD_LENGTH} characters (${SUGGESTED_PASSWORD_LENGTH} or more is better).`,
  too_long: `Use at most ${MAX_PASSWORD_LENGTH} characters.`,
  too_common: 'This password is too common. Choose one that is harder to guess.',
}

/** Why this password cannot be used, in English (the CLI and the admin API); null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  const problem = passwordProblemCode(password)
  return problem === null ? null : ENGLISH[problem]
}
