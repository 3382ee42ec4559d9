import type { Db } from '../connect.js'
import type { UserRow } from '../schema.js'

export interface User {
  readonly id: string
  readonly email: string
  readonly name: string | null
  readonly passwordHash: string
  readonly emailVerified: boolean
  readonly disabledAt: number | null
  readonly createdAt: number
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
  }
}

/** Emails are compared case-insensitively; the stored form is the lower-cased, trimmed address. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase()

export function usersRepository(db: Db) {
  return {
    async insert(user: User): Promise<void> {
      await db
        .insertInto('users')
        .values({
          id: user.id,
          email: normaliseEmail(user.email),
          name: user.name,
          password_hash: user.passwordHash,
          email_verified: user.emailVerified ? 1 : 0,
          disabled_at: user.disabledAt,
          created_at: user.createdAt,
          updated_at: user.createdAt,
        })
        .execute()
    },

    async findByEmail(email: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst()
      return row ? toUser(row) : undefined
    },

    async findById(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toUser(row) : undefined
    },

    async list(): Promise<User[]> {
      const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('email').execute()
      return rows.map(toUser)
    },

    async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
      await db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute()
    },

    async disable(id: string, now: number): Promise<void> {
      await db.updateTable('users').set({ disabled_at: now, updated_at: now }).where('id', '=', id).execute()
    },
  }
}

export type UsersRepository = ReturnType<typeof usersRepository>
