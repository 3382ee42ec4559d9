/**
 * Self-service signup. The answer is the same whether or not the email already has an account:
 * the password is hashed in both cases (same timing), an existing owner gets a "someone tried to
 * sign up" mail instead of a second account, and a new account gets a verification mail. The
 * new user is not signed in (that would reveal which case happened); they sign in next.
 */
import { randomId } from '../secrets.js'
import { emailAddressProblem, normaliseEmail } from './email-address.js'
import { passwordProblem } from './password-policy.js'
import type { AccountContext } from './context.js'
import { sendVerificationMail } from './email-verification.js'

export const MAX_NAME_LENGTH = 200

export interface SignupInput {
  readonly name: string
  readonly email: string
  readonly password: string
}

export type SignupField = 'name' | 'email' | 'password'
export type SignupResult = { readonly ok: true } | { readonly ok: false; readonly problems: Partial<Record<SignupField, string>> }

/** Problems with the form itself; they never depend on whether the account exists. */
export function signupProblems(input: SignupInput): Partial<Record<SignupField, string>> {
  const problems: Partial<Record<SignupField, string>> = {}
  const name = input.name.trim()
  if (name === '') problems.name = 'Enter your name.'
  else if (name.length > MAX_NAME_LENGTH) problems.name = `Use at most ${MAX_NAME_LENGTH} characters.`
  const email = emailAddressProblem(input.email)
  if (email !== null) problems.email = email
  const password = passwordProblem(input.password)
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
  })
  if (created) {
    await context.audit.record('signup', { userId: id }, 'account created')
    await sendVerificationMail(context, { id })
  } else {
    // Recorded like a new account (one write either way), so timing does not tell the cases apart.
    await context.audit.record('signup', { detail: { outcome: 'existing_email' } }, 'signup for an email that already has an account')
    // The owner is looked up when the mail is sent: one insert here either way.
    await context.mail.enqueue({ template: 'signup_attempt', email })
  }
  return { ok: true }
}
