import { sql } from 'kysely'
import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import type { UserRow } from '../schema.js'
import type { NewUser, User } from '../../model/user.js'

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
    locale: row.locale,
  }
}

/** Sorted and without duplicates, so the stored form and the claim are stable. */
const canonicalRoles = (roles: readonly string[]): string => JSON.stringify([...new Set(roles)].sort())

const toRow = (user: NewUser): UserRow => ({
  id: user.id,
  email: user.email,
  name: user.name,
  password_hash: user.passwordHash,
  email_verified: user.emailVerified ? 1 : 0,
  disabled_at: user.disabledAt,
  created_at: user.createdAt,
  updated_at: user.createdAt,
  roles: canonicalRoles(user.roles ?? []),
  locale: user.locale ?? null,
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

    /** By the canonical address (accounts/email-address.ts normaliseEmail); stored emails are canonical. */
    async findByEmail(canonicalEmail: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', canonicalEmail).executeTakeFirst()
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

    /**
     * Users whose address contains `emailContains` (any case; empty: everyone), by address, at
     * most `limit`, after the address `afterEmail` (the last one of the previous page).
     */
    async search(query: { readonly emailContains: string; readonly afterEmail?: string; readonly limit: number }): Promise<User[]> {
      let select = db.selectFrom('users').selectAll()
      if (query.emailContains !== '') {
        // LIKE with its wildcards escaped; lower() on both sides: PostgreSQL's LIKE is case-sensitive.
        const pattern = `%${query.emailContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
        select = select.where(sql<boolean>`lower(email) like ${pattern} escape '\\'`)
      }
      if (query.afterEmail !== undefined) select = select.where('email', '>', query.afterEmail)
      const rows = await select.orderBy('email').limit(query.limit).execute()
      return rows.map(toUser)
    },

    async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
      await db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute()
    },

    async updateName(id: string, name: string | null, now: number): Promise<void> {
      await db.updateTable('users').set({ name, updated_at: now }).where('id', '=', id).execute()
    },

    async setLocale(id: string, locale: string | null, now: number): Promise<void> {
      await db.updateTable('users').set({ locale, updated_at: now }).where('id', '=', id).execute()
    },

    /** An operator's change of address: the new one is not verified yet. */
    async setEmail(id: string, email: string, now: number): Promise<void> {
      await db.updateTable('users').set({ email, email_verified: 0, updated_at: now }).where('id', '=', id).execute()
    },

    async markEmailVerified(id: string, now: number): Promise<void> {
      await db.updateTable('users').set({ email_verified: 1, updated_at: now }).where('id', '=', id).execute()
    },

    async setRoles(id: string, roles: readonly string[], now: number): Promise<void> {
      await db
        .updateTable('users')
        .set({ roles: canonicalRoles(roles), updated_at: now })
        .where('id', '=', id)
        .execute()
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
