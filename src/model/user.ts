/** An account. `email` is always the canonical address (accounts/email-address.ts). */
export interface User {
  readonly id: string
  readonly email: string
  readonly name: string | null
  readonly passwordHash: string
  readonly emailVerified: boolean
  readonly disabledAt: number | null
  readonly createdAt: number
  /** Role names for resource-server RBAC (the `roles` claim). */
  readonly roles: readonly string[]
  /** The language the user chose for pages and mails (i18n/locales.ts); null: not chosen. */
  readonly locale: string | null
}

/** The password hash of an account made by a federated sign-in: no password until the user sets one by reset. */
export const NO_PASSWORD = ''

export const hasPassword = (user: Pick<User, 'passwordHash'>): boolean => user.passwordHash !== NO_PASSWORD

export type NewUser = Omit<User, 'roles' | 'locale'> & { readonly roles?: readonly string[]; readonly locale?: string | null }

/** Role names for RBAC: short tokens without spaces, so they read well in a JWT claim. */
const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/

export const isRoleName = (role: string): boolean => ROLE.test(role)

/** The role that opens the admin console (`idp users set-roles EMAIL admin`). */
export const ADMIN_ROLE = 'admin'

/** An account that may run the console now: the admin role and not disabled. */
export const isEnabledAdmin = (user: Pick<User, 'roles' | 'disabledAt'>): boolean =>
  user.disabledAt === null && user.roles.includes(ADMIN_ROLE)
