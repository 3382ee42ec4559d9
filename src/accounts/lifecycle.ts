/**
 * What operators do to accounts, whichever surface asks (the `idp users` commands, the admin API,
 * the admin console): create, read, change name, address and roles, verify, issue a reset link,
 * disable and enable, reset second factors, delete with all their data. Every change is a
 * security event whose detail names the actor (model/actor.ts).
 *
 * Errors: InvalidAccountInput (a field's value; EmailTaken when the address belongs to another
 * account), UnknownUser, AccountChangeRefused (the account's state does not allow it). Each
 * surface says them its own way: the CLI in one line, the API as an RFC 9457 problem.
 */
import type { Deps } from '../deps.js'
import { actorLabel, type Actor } from '../model/actor.js'
import { isRoleName, type User } from '../model/user.js'
import type { FederatedIdentity } from '../model/connection.js'
import type { RemovedAccountData } from '../db/repositories/account-data.js'
import { factorsOf, resetFactors, type FactorSummary } from '../factors/summary.js'
import { randomId } from '../secrets.js'
import { endUserAccess } from './context.js'
import { emailAddressProblem, normaliseEmail } from './email-address.js'
import { passwordResetLink } from './password-reset.js'
import { passwordProblem } from './password-policy.js'

export type AccountLifecycleDeps = Pick<
  Deps,
  'config' | 'repos' | 'hasher' | 'dummyHash' | 'mail' | 'outbox' | 'audit' | 'clock' | 'log' | 'factorKey'
>

export type AccountField = 'email' | 'name' | 'password' | 'roles'

/** A value the account rules refuse; `value` is the offending input when there is one. */
export class InvalidAccountInput extends Error {
  readonly code: string = 'invalid_account_input'
  constructor(
    readonly field: AccountField,
    readonly problem: string,
    readonly value?: string,
  ) {
    super(`${field}${value === undefined ? '' : ` ${value}`}: ${problem}`)
    this.name = 'InvalidAccountInput'
  }
}

/** Role names the rules refuse, named (the console says them in its own words). */
export class InvalidRoleNames extends InvalidAccountInput {
  constructor(readonly names: readonly string[]) {
    super('roles', `not a role name: ${names.join(', ')} (letters, digits, _ . : - and at most 64 characters)`)
  }
}

/** The address already belongs to another account (an API says 409). */
export class EmailTaken extends InvalidAccountInput {
  override readonly code = 'email_taken'
  constructor(
    email: string,
    readonly holderId: string,
  ) {
    super('email', `${email} already belongs to another user`, email)
    this.name = 'EmailTaken'
  }
}

/** No account has this id (or, for findUser, this address). */
export class UnknownUser extends Error {
  readonly code = 'unknown_user'
  constructor(readonly reference: string) {
    super(reference.includes('@') ? `no user with email ${reference}` : `no user with id ${reference}`)
    this.name = 'UnknownUser'
  }
}

/** The change is valid in itself but not in the account's state (a reset link for a disabled account…). */
export class AccountChangeRefused extends Error {
  readonly code = 'account_change_refused'
  constructor(
    readonly userId: string,
    readonly problem: string,
  ) {
    super(problem)
    this.name = 'AccountChangeRefused'
  }
}

export interface NewAccount {
  readonly email: string
  readonly name?: string | null
  /** Checked against the password policy exactly as given (no trimming). */
  readonly password: string
  readonly roles?: readonly string[]
}

export interface AccountChanges {
  /** null or an empty name removes it. */
  readonly name?: string | null
  /** The new sign-in address: normalised, and unverified until proven. */
  readonly email?: string
}

/** An account with what surfaces show beside it; never a hash or secret. */
export interface AccountDetails {
  readonly user: User
  readonly factors: FactorSummary
  readonly identities: readonly FederatedIdentity[]
  readonly liveSessions: number
}

const MAX_NAME_LENGTH = 200

/** Role names checked (InvalidAccountInput 'roles' names the bad ones), sorted and without duplicates. */
export function checkRoles(roles: readonly string[]): string[] {
  const bad = roles.filter((role) => !isRoleName(role))
  if (bad.length > 0) throw new InvalidRoleNames(bad)
  return [...new Set(roles)].sort()
}

function checkName(name: string | null | undefined): string | null {
  const trimmed = name?.trim() ?? ''
  if (trimmed.length > MAX_NAME_LENGTH) throw new InvalidAccountInput('name', `at most ${MAX_NAME_LENGTH} characters`)
  return trimmed === '' ? null : trimmed
}

function checkEmail(raw: string): string {
  const problem = emailAddressProblem(raw)
  if (problem !== null) throw new InvalidAccountInput('email', problem, raw)
  return normaliseEmail(raw)
}

const detailOf = (actor: Actor) => ({ actor: actorLabel(actor) })

async function byId(deps: Pick<AccountLifecycleDeps, 'repos'>, userId: string): Promise<User> {
  const user = await deps.repos.users.findById(userId)
  if (!user) throw new UnknownUser(userId)
  return user
}

/**
 * Creates an account with a password (argon2id); the operator vouches for the address, so it
 * counts as verified. Audited as user_created.
 */
export async function createUser(deps: AccountLifecycleDeps, input: NewAccount, actor: Actor): Promise<User> {
  const email = checkEmail(input.email)
  const problem = passwordProblem(input.password)
  if (problem !== null) throw new InvalidAccountInput('password', problem)
  const roles = checkRoles(input.roles ?? [])
  const name = checkName(input.name)
  const holder = await deps.repos.users.findByEmail(email)
  if (holder) throw new EmailTaken(email, holder.id)
  const now = deps.clock.now()
  const passwordHash = await deps.hasher.hash(input.password)
  const user: User = {
    id: randomId(),
    email,
    name,
    passwordHash,
    emailVerified: true,
    disabledAt: null,
    createdAt: now,
    roles,
    locale: null,
  }
  // The address is unique in the table: of two concurrent creations one wins.
  if (!(await deps.repos.users.insertIfEmailFree(user))) {
    const winner = await deps.repos.users.findByEmail(email)
    throw new EmailTaken(email, winner?.id ?? '')
  }
  await deps.audit.record('user_created', { userId: user.id, detail: { ...detailOf(actor), roles } }, 'user created by an operator')
  return user
}

/** An account by its address (any spelling of it) or by its id; throws UnknownUser. */
export async function findUser(deps: Pick<AccountLifecycleDeps, 'repos'>, emailOrId: string): Promise<User> {
  const user = emailOrId.includes('@')
    ? await deps.repos.users.findByEmail(normaliseEmail(emailOrId))
    : await deps.repos.users.findById(emailOrId)
  if (!user) throw new UnknownUser(emailOrId)
  return user
}

/** Every account with its second factors, oldest first. */
export async function listUsers(deps: Pick<AccountLifecycleDeps, 'repos'>): Promise<{ user: User; factors: FactorSummary }[]> {
  const users = await deps.repos.users.list()
  return Promise.all(users.map(async (user) => ({ user, factors: await factorsOf(deps, user.id) })))
}

/** One account with its factors, linked identities and how many sessions are live; throws UnknownUser. */
export async function getUser(deps: Pick<AccountLifecycleDeps, 'repos' | 'clock' | 'config'>, userId: string): Promise<AccountDetails> {
  const user = await byId(deps, userId)
  const [factors, identities, sessions] = await Promise.all([
    factorsOf(deps, user.id),
    deps.repos.federatedIdentities.listForUser(user.id),
    deps.repos.sessions.listLiveForUser(user.id, deps.clock.now(), deps.config.sessionIdleTtl),
  ])
  return { user, factors, identities, liveSessions: sessions.length }
}

/**
 * Changes the display name and/or the sign-in address. A new address is unverified until the
 * user proves it (a reset link or a verification mail) and must not belong to another account.
 * Audited as user_updated (and email_changed for the address).
 */
export async function updateUser(deps: AccountLifecycleDeps, userId: string, changes: AccountChanges, actor: Actor): Promise<User> {
  const user = await byId(deps, userId)
  const name = changes.name === undefined ? undefined : checkName(changes.name)
  const email = changes.email === undefined ? undefined : checkEmail(changes.email)
  if (email !== undefined && email !== user.email) {
    const holder = await deps.repos.users.findByEmail(email)
    if (holder && holder.id !== user.id) throw new EmailTaken(email, holder.id)
  }
  const now = deps.clock.now()
  const changed: string[] = []
  if (name !== undefined && name !== user.name) {
    await deps.repos.users.updateName(user.id, name, now)
    changed.push('name')
  }
  if (email !== undefined && email !== user.email) {
    await deps.repos.users.setEmail(user.id, email, now)
    changed.push('email')
    await deps.audit.record('email_changed', { userId: user.id, detail: detailOf(actor) }, 'email address changed by an operator')
  }
  if (changed.length > 0)
    await deps.audit.record('user_updated', { userId: user.id, detail: { ...detailOf(actor), changed } }, 'user changed by an operator')
  return byId(deps, user.id)
}

/** Replaces the roles (none clears them); tokens issued from then on carry them. Audited as roles_changed. */
export async function setUserRoles(deps: AccountLifecycleDeps, userId: string, roles: readonly string[], actor: Actor): Promise<User> {
  const checked = checkRoles(roles)
  const user = await byId(deps, userId)
  await deps.repos.users.setRoles(user.id, checked, deps.clock.now())
  await deps.audit.record('roles_changed', { userId: user.id, detail: { ...detailOf(actor), roles: checked } }, 'roles changed')
  return byId(deps, user.id)
}

/** Marks the address verified (the operator vouches for it). Audited as email_verified. */
export async function verifyUserEmail(deps: AccountLifecycleDeps, userId: string, actor: Actor): Promise<User> {
  const user = await byId(deps, userId)
  await deps.repos.users.markEmailVerified(user.id, deps.clock.now())
  await deps.audit.record('email_verified', { userId: user.id, detail: detailOf(actor) }, 'email address verified by an operator')
  return byId(deps, user.id)
}

/**
 * A single-use password-reset link for support (older links stop working), valid for
 * PASSWORD_RESET_TTL. Refused for a disabled account. Audited as password_reset_requested.
 */
export async function createPasswordResetLink(
  deps: AccountLifecycleDeps,
  userId: string,
  actor: Actor,
): Promise<{ user: User; link: string; expiresIn: number }> {
  const user = await byId(deps, userId)
  if (user.disabledAt !== null) throw new AccountChangeRefused(user.id, `user ${user.email} is disabled; enable it first`)
  const link = await passwordResetLink(deps, user)
  await deps.audit.record(
    'password_reset_requested',
    { userId: user.id, detail: { by: 'operator', ...detailOf(actor) } },
    'password reset link created by an operator',
  )
  return { user, link, expiresIn: deps.config.passwordResetTtl }
}

/**
 * Disables the account: its sessions end as a logout would (relying parties get back-channel
 * logout tokens), its grants are revoked with their tokens. Audited as account_disabled.
 */
export async function disableUser(deps: AccountLifecycleDeps, userId: string, actor: Actor): Promise<User> {
  const user = await byId(deps, userId)
  await deps.repos.users.disable(user.id, deps.clock.now())
  await endUserAccess(deps, user.id)
  await deps.audit.record('account_disabled', { userId: user.id, detail: detailOf(actor) }, 'account disabled')
  return byId(deps, user.id)
}

/** Lets a disabled account sign in again. Audited as account_enabled. */
export async function enableUser(deps: AccountLifecycleDeps, userId: string, actor: Actor): Promise<User> {
  const user = await byId(deps, userId)
  await deps.repos.users.enable(user.id, deps.clock.now())
  await deps.audit.record('account_enabled', { userId: user.id, detail: detailOf(actor) }, 'account enabled')
  return byId(deps, user.id)
}

/**
 * Removes every passkey, the authenticator app and the recovery codes of a user who lost them;
 * the user is told by mail. Returns what was removed. Audited as factors_reset.
 */
export async function resetUserFactors(
  deps: AccountLifecycleDeps,
  userId: string,
  actor: Actor,
): Promise<{ user: User; removed: FactorSummary }> {
  const user = await byId(deps, userId)
  return { user, removed: await resetFactors(deps, user, actorLabel(actor)) }
}

/**
 * Deletes the account with all its data: its sessions end first as a logout would (relying
 * parties with a back-channel logout URI get logout tokens, from the outbox), then the account and
 * every row about it go in one transaction — grants with their tokens, consents, passkeys, the
 * authenticator app, recovery codes, reset and verification tokens, linked upstream identities,
 * sign-ins in progress. Audit events keep the user id (never the address) until AUDIT_RETENTION
 * removes them; the user_deleted event names the actor. Throws UnknownUser.
 */
export async function deleteUser(
  deps: AccountLifecycleDeps,
  userId: string,
  actor: Actor,
): Promise<{ user: User; removed: RemovedAccountData }> {
  const user = await byId(deps, userId)
  await endUserAccess(deps, user.id)
  const removed = await deps.repos.accountData.remove(user.id)
  if (removed === null) throw new UnknownUser(userId)
  await deps.audit.record(
    'user_deleted',
    { userId: user.id, detail: { ...detailOf(actor), sessions: removed.sessions, grants: removed.grants } },
    'user deleted with all their data',
  )
  return { user, removed }
}
