import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import type { UserRow } from '../schema.js'

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
}

export type NewUser = Omit<User, 'roles'> & { readonly roles?: readonly string[] }

function parseRoles(raw: string): string[] {
  const value: unknown = JSON.parse(raw)
  return Array.isArray(value) ? value.filter((role): role is string => typeof role === 'string') : []
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    emailVerified: row.email_verified === 1,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    roles: parseRoles(row.roles),
  }
}

/** Emails are compared case-insensitively; the stored form is the lower-cased, trimmed address. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase()

/** Sorted and without duplicates, so the stored form and the claim are stable. */
const canonicalRoles = (roles: readonly string[]): string => JSON.stringify([...new Set(roles)].sort())

const toRow = (user: NewUser): UserRow => ({
  id: user.id,
  email: normaliseEmail(user.email),
  name: user.name,
  password_hash: user.passwordHash,
  email_verified: user.emailVerified ? 1 : 0,
  disabled_at: user.disabledAt,
  created_at: user.createdAt,
  updated_at: user.createdAt,
  roles: canonicalRoles(user.roles ?? []),
})

export function usersRepository(db: Db) {
  // Userinfo reads a user per request: compiled once (compile-once.ts).
  const byId = compileOnce(db, ['id'], (db, args: { id: string }) => db.selectFrom('users').selectAll().where('id', '=', args.id))
  return {
    async insert(user: NewUser): Promise<void> {
      await db.insertInto('users').values(toRow(user)).execute()
    },

    /**
     * Inserts unless the email is taken; true when this call created the account. Two signups
     * racing for one address cannot both succeed (the email column is unique).
     */
    async insertIfEmailFree(user: NewUser): Promise<boolean> {
      const result = await db
        .insertInto('users')
        .values(toRow(user))
        .onConflict((oc) => oc.column('email').doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },

    async findByEmail(email: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst()
      return row ? toUser(row) : undefined
    },

    async findById(id: string): Promise<User | undefined> {
      const row = (await byId({ id })).rows[0]
      return row ? toUser(row) : undefined
    },

    async list(): Promise<User[]> {
      const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('email').execute()
      return rows.map(toUser)
    },

    async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
      await db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute()
    },

    async updateName(id: string, name: string | null, now: number): Promise<void> {
      await db.updateTable('users').set({ name, updated_at: now }).where('id', '=', id).execute()
    },

    async markEmailVerified(id: string, now: number): Promise<void> {
      await db.updateTable('users').set({ email_verified: 1, updated_at: now }).where('id', '=', id).execute()
    },

    async setRoles(id: string, roles: readonly string[], now: number): Promise<void> {
      await db.updateTable('users').set({ roles: canonicalRoles(roles), updated_at: now }).where('id', '=', id).execute()
    },

    async disable(id: string, now: number): Promise<void> {
      await db.updateTable('users').set({ disabled_at: now, updated_at: now }).where('id', '=', id).execute()
    },

    async enable(id: string, now: number): Promise<void> {
      await db.updateTable('users').set({ disabled_at: null, updated_at: now }).where('id', '=', id).execute()
    },
  }
}

export type UsersRepository = ReturnType<typeof usersRepository>
