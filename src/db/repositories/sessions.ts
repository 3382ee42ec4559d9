import type { Db } from '../connect.js'
import type { SessionRow } from '../schema.js'

export interface LoginSession {
  readonly idHash: string
  readonly userId: string
  readonly authTime: number
  readonly createdAt: number
  readonly lastSeenAt: number
  readonly expiresAt: number
}

const toSession = (row: SessionRow): LoginSession => ({
  idHash: row.id_hash,
  userId: row.user_id,
  authTime: row.auth_time,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
})

/** Server-side login sessions; the cookie holds the random id, the table only its hash. */
export function sessionsRepository(db: Db) {
  return {
    async insert(session: LoginSession): Promise<void> {
      await db
        .insertInto('sessions')
        .values({
          id_hash: session.idHash,
          user_id: session.userId,
          auth_time: session.authTime,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
          ended_at: null,
        })
        .execute()
    },

    /** A session that has not ended and whose absolute expiry has not passed. */
    async findLive(idHash: string, now: number): Promise<LoginSession | undefined> {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return row ? toSession(row) : undefined
    },

    async touch(idHash: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute()
    },

    async end(idHash: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ ended_at: now }).where('id_hash', '=', idHash).where('ended_at', 'is', null).execute()
    },

    async endAllForUser(userId: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ ended_at: now }).where('user_id', '=', userId).where('ended_at', 'is', null).execute()
    },
  }
}

export type SessionsRepository = ReturnType<typeof sessionsRepository>
