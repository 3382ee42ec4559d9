import type { Db } from '../connect.js'
import type { SessionRow } from '../schema.js'
import type { LoginSession } from '../../model/session.js'
import { parseAmr } from '../../model/authentication.js'

const toSession = (row: SessionRow): LoginSession => ({
  idHash: row.id_hash,
  userId: row.user_id,
  authTime: row.auth_time,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
  handle: row.handle,
  userAgent: row.user_agent,
  amr: parseAmr(row.amr),
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
          handle: session.handle,
          user_agent: session.userAgent,
          amr: JSON.stringify(session.amr),
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

    /** Live sessions of one user, most recently used first (the account page's list). */
    async listLiveForUser(userId: string, now: number, idleSeconds: number): Promise<LoginSession[]> {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .where('last_seen_at', '>', now - idleSeconds)
        .orderBy('last_seen_at', 'desc')
        .execute()
      return rows.map(toSession)
    },

    /** One of the user's live sessions by its public handle (the account page's reference). */
    async findLiveByHandle(userId: string, handle: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('sessions')
        .select('id_hash')
        .where('user_id', '=', userId)
        .where('handle', '=', handle)
        .where('ended_at', 'is', null)
        .executeTakeFirst()
      return row?.id_hash
    },

    /** Ends every session of the user except one (password change keeps the browser that did it). */
    async endOthersForUser(userId: string, keepIdHash: string, now: number): Promise<string[]> {
      const rows = await db
        .selectFrom('sessions')
        .select('id_hash')
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('id_hash', '!=', keepIdHash)
        .execute()
      await db
        .updateTable('sessions')
        .set({ ended_at: now })
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('id_hash', '!=', keepIdHash)
        .execute()
      return rows.map((row) => row.id_hash)
    },

    async endAllForUser(userId: string, now: number): Promise<void> {
      await db.updateTable('sessions').set({ ended_at: now }).where('user_id', '=', userId).where('ended_at', 'is', null).execute()
    },
  }
}
