/**
 * What a signed-in user does to their own account from the account page: download their data and
 * delete the account. Both go through the services the operator uses (data-export.ts,
 * lifecycle.ts), with the user as the actor (`user:ID`), so the export holds exactly what an
 * operator's does and a deletion removes exactly what an operator's does.
 *
 * Deleting needs proof that the person at the browser is the owner, not just someone holding the
 * session: the current password, or — for an account without one (made by an upstream sign-in,
 * or passkeys only) — a sign-in within the last few minutes. The last enabled admin cannot delete
 * themselves: nobody would be left to run the console.
 */
import { isLocale } from '../i18n/locales.js'
import type { LoginSession } from '../model/session.js'
import { hasPassword, isEnabledAdmin, type User } from '../model/user.js'
import { exportUserData, type UserDataExport } from './data-export.js'
import { deleteUser, UnknownUser, type AccountLifecycleDeps } from './lifecycle.js'
import { MAX_PASSWORD_LENGTH } from './password-hasher.js'

/**
 * How recent (seconds) a sign-in must be to delete an account that has no password. Shorter than
 * the window for changing sign-in methods (http/recent-sign-in.ts): this cannot be undone.
 */
export const DELETION_SIGN_IN_WINDOW = 5 * 60

export type SelfServiceDeps = AccountLifecycleDeps

/** How the owner proves it is them before deleting. */
export type Reauthentication =
  /** Typing the current password. */
  | { readonly kind: 'password' }
  /** No password: a sign-in within DELETION_SIGN_IN_WINDOW; `recent` says whether this session's is. */
  | { readonly kind: 'recent-sign-in'; readonly recent: boolean }

/** What the confirmation page asks for (and whether it can be asked at all). */
export interface DeletionOutlook {
  readonly reauthentication: Reauthentication
  /** The only enabled admin: refused, with a clear reason, before anything is asked. */
  readonly lastAdmin: boolean
}

export type DeletionRefusal =
  | { readonly problem: 'last_admin' }
  | { readonly problem: 'not_confirmed' }
  | { readonly problem: 'wrong_password' }
  | { readonly problem: 'stale_sign_in' }

export type DeletionResult =
  /** Deleted; `email` is where the confirmation mail goes (the account row is gone by now). */
  { readonly ok: true; readonly email: string } | ({ readonly ok: false } & DeletionRefusal)

/**
 * Whether this user is the only enabled account with the admin role. Reads the user list: deleting
 * is rare and installations have few admins, and the repository has no narrower query.
 */
export async function isLastEnabledAdmin(deps: Pick<SelfServiceDeps, 'repos'>, user: User): Promise<boolean> {
  if (!isEnabledAdmin(user)) return false
  const users = await deps.repos.users.list()
  return !users.some((other) => other.id !== user.id && isEnabledAdmin(other))
}

export function reauthenticationFor(deps: Pick<SelfServiceDeps, 'clock'>, user: User, session: LoginSession): Reauthentication {
  if (hasPassword(user)) return { kind: 'password' }
  return { kind: 'recent-sign-in', recent: deps.clock.now() - session.authTime <= DELETION_SIGN_IN_WINDOW }
}

export async function deletionOutlook(deps: SelfServiceDeps, user: User, session: LoginSession): Promise<DeletionOutlook> {
  return { reauthentication: reauthenticationFor(deps, user, session), lastAdmin: await isLastEnabledAdmin(deps, user) }
}

/** The user's data export, audited as user_data_exported by `user:ID`. */
export function exportOwnData(deps: SelfServiceDeps, user: User): Promise<UserDataExport> {
  return exportUserData(deps, user.id, { kind: 'user', userId: user.id })
}

export interface DeletionRequest {
  readonly user: User
  readonly session: LoginSession
  /** The current password as typed ('' when the account has none). */
  readonly password: string
  /** The explicit confirmation (the checkbox) was given. */
  readonly confirmed: boolean
  readonly ip: string
}

/**
 * Deletes the signed-in user's account after re-authentication: sessions end with back-channel
 * logout, grants and tokens are revoked and every row about the user goes (lifecycle.deleteUser,
 * audited as user_deleted by `user:ID`), then a confirmation mail is queued to the former address.
 * A wrong password is audited as account_deletion_failure; throttling it is the caller's (the
 * route, as for the password change). Nothing is removed on any refusal.
 */
export async function deleteOwnAccount(deps: SelfServiceDeps, request: DeletionRequest): Promise<DeletionResult> {
  const { user, session } = request
  if (await isLastEnabledAdmin(deps, user)) return { ok: false, problem: 'last_admin' }
  if (!request.confirmed) return { ok: false, problem: 'not_confirmed' }
  const reauthentication = reauthenticationFor(deps, user, session)
  if (reauthentication.kind === 'recent-sign-in' && !reauthentication.recent) return { ok: false, problem: 'stale_sign_in' }
  if (reauthentication.kind === 'password') {
    const correct = request.password.length <= MAX_PASSWORD_LENGTH && (await deps.hasher.verify(user.passwordHash, request.password))
    if (!correct) {
      await deps.audit.record(
        'account_deletion_failure',
        { userId: user.id, ip: request.ip },
        'account deletion refused: wrong current password',
      )
      return { ok: false, problem: 'wrong_password' }
    }
  }
  try {
    await deleteUser(deps, user.id, { kind: 'user', userId: user.id })
  } catch (error) {
    // Deleted meanwhile (an operator, another tab): the outcome the user asked for; no second mail.
    if (error instanceof UnknownUser) return { ok: true, email: user.email }
    throw error
  }
  // The row is gone: the mail carries its address and the language the user chose (see
  // account-mail.ts, account_deleted).
  await deps.mail.enqueue({ template: 'account_deleted', email: user.email, ...(isLocale(user.locale) ? { locale: user.locale } : {}) })
  return { ok: true, email: user.email }
}
