/**
 * Checking an email and password. Unknown emails, disabled accounts and wrong passwords all
 * answer the same, and an unknown email still runs one argon2 verification against a dummy hash,
 * so neither the reply nor its timing tells whether an account exists (docs/security.md §H).
 */
import type { UsersRepository } from '../db/repositories/users.js'
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js'
import { normaliseEmail } from './email-address.js'
import { hasPassword, type User } from '../model/user.js'

export type LoginResult = { readonly ok: true; readonly user: User } | { readonly ok: false }

export interface PasswordLogin {
  readonly users: UsersRepository
  readonly hasher: PasswordHasher
  /** A hash of a random password with the same parameters. */
  readonly dummyHash: () => Promise<string>
  readonly now: () => number
}

export async function authenticateWithPassword(deps: PasswordLogin, email: string, password: string): Promise<LoginResult> {
  if (password.length > MAX_PASSWORD_LENGTH || email.length > 320) return { ok: false }
  const user = await deps.users.findByEmail(normaliseEmail(email))
  // Passwords are checked exactly as typed: no trimming or normalisation.
  // An account without a password (made by a federated sign-in) costs the same work as an unknown one.
  const stored = user !== undefined && hasPassword(user) ? user.passwordHash : await deps.dummyHash()
  const valid = await deps.hasher.verify(stored, password)
  if (!user || !hasPassword(user) || !valid || user.disabledAt !== null) return { ok: false }
  if (deps.hasher.needsRehash(user.passwordHash)) {
    await deps.users.updatePasswordHash(user.id, await deps.hasher.hash(password), deps.now())
  }
  return { ok: true, user }
}
