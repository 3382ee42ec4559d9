/**
 * Self-service signup. The answer is the same whether or not the email already has an account:
 * the password is hashed in both cases (same timing), an existing owner gets a "someone tried to
 * sign up" mail instead of a second account, and a new account gets a verification mail. The
 * new user is not signed in (that would reveal which case happened); they sign in next.
 */
import type { Locale } from '../i18n/locales.js'
import { randomId } from '../secrets.js'
import { emailAddressProblemCode, normaliseEmail, type EmailProblem } from './email-address.js'
import { passwordProblemCode, type PasswordProblem } from './password-policy.js'
import type { AccountContext } from './context.js'
import { sendVerificationMail } from './email-verification.js'

export const MAX_NAME_LENGTH = 200

export interface SignupInput {
  readonly name: string
  readonly email: string
  readonly password: string
  /** The language of the signup page: saved as the new user's choice (pages and mails use it). */
  readonly locale?: Locale
}

export type SignupField = 'name' | 'email' | 'password'
export type NameProblem = 'missing' | 'too_long'

/** What is wrong with each field, as codes: the page says them in its language. */
export interface SignupProblems {
  readonly name?: NameProblem
  readonly email?: EmailProblem
  readonly password?: PasswordProblem
}

export type SignupResult = { readonly ok: true } | { readonly ok: false; readonly problems: SignupProblems }

/** Problems with the form itself; they never depend on whether the account exists. */
export function signupProblems(input: SignupInput): SignupProblems {
  const problems: { name?: NameProblem; email?: EmailProblem; password?: PasswordProblem } = {}
  const name = input.name.trim()
  if (name === '') problems.name = 'missing'
  else if (name.length > MAX_NAME_LENGTH) problems.name = 'too_long'
  const email = emailAddressProblemCode(input.email)
  if (email !== null) problems.email = email
  const password = passwordProblemCode(input.password)
  if (password !== null) problems.password = password
  return problems
}

export async function signUp(context: AccountContext, input: SignupInput): Promise<SignupResult> {
  const problems = signupProblems(input)
  if (Object.keys(problems).length > 0) return { ok: false, problems }
  const email = normaliseEmail(input.email)
  const name = input.name.trim()
  const passwordHash = await context.hasher.hash(input.password)
  const id = randomId()
  const created = await context.repos.users.insertIfEmailFree({
    id,
    email,
    name,
    passwordHash,
    emailVerified: false,
    disabledAt: null,
    createdAt: context.clock.now(),
    locale: input.locale ?? null,
  })
  if (created) {
    await context.audit.record('signup', { userId: id }, 'account created')
    await sendVerificationMail(context, { id })
  } else {
    // Recorded like a new account (one write either way), so timing does not tell the cases apart.
    await context.audit.record('signup', { detail: { outcome: 'existing_email' } }, 'signup for an email that already has an account')
    // The owner is looked up when the mail is sent: one insert here either way. The page's
    // language is used only if the owner chose none.
    await context.mail.enqueue({ template: 'signup_attempt', email, ...(input.locale ? { locale: input.locale } : {}) })
  }
  return { ok: true }
}
