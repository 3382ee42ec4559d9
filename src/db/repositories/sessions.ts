import type { Db } from '../connect.js'
import type { SessionRow } from '../schema.js'
import type { EndedSession, LoginSession, SessionClient } from '../../model/session.js'
import { parseAmr } from '../../model/authentication.js'
import { revokeGrantsIn } from './grants.js'
import { insertOutboxJobs, type NewOutboxJob } from './outbox.js'

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
  sid: row.sid,
})

/** Which sessions to end (only those not ended yet are). */
export type SessionSelection =
  | { readonly idHash: string }
  /** Every session of a user, or all but one (a password change keeps the browser that made it). */
  | { readonly userId: string; readonly exceptIdHash?: string }
  /** Up to `limit` sessions past their absolute expiry (at `now`) or last seen at or before `idleBefore`. */
  | { readonly expiredAt: number; readonly idleBefore: number; readonly limit: number }

export interface SessionEnding {
  readonly now: number
  /** The ended sessions' grants to revoke with their tokens: all of them, or all but offline_access ones. */
  readonly revoke: 'all' | 'online'
  /**
   * Jobs for the outbox, stored in the same transaction as the ending: given the sessions this
   * call ended and the clients that received tokens in them and have a back-channel logout URI.
   */
  readonly jobs: (ended: readonly EndedSession[], clients: readonly SessionClient[]) => readonly NewOutboxJob[]
}

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
          sid: session.sid,
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

    /** Ends the session without anything else: a renewal, whose grants move to the session replacing it. */
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

    /**
     * Ends the selected sessions in one transaction: marks them ended, revokes their grants with
     * their tokens, and stores the outbox jobs the ending asks for. Returns the sessions this call
     * ended: of concurrent endings of one session exactly one sees it (the UPDATE is conditional),
     * so its relying parties are told once.
     */
    async endMany(selection: SessionSelection, ending: SessionEnding): Promise<EndedSession[]> {
      return db.transaction().execute(async (trx) => {
        let update = trx.updateTable('sessions').set({ ended_at: ending.now }).where('ended_at', 'is', null)
        if ('idHash' in selection) update = update.where('id_hash', '=', selection.idHash)
        else if ('userId' in selection) {
          update = update.where('user_id', '=', selection.userId)
          if (selection.exceptIdHash !== undefined) update = update.where('id_hash', '!=', selection.exceptIdHash)
        } else {
          const { expiredAt, idleBefore, limit } = selection
          update = update.where(
            'id_hash',
            'in',
            trx
              .selectFrom('sessions')
              .select('id_hash')
              .where('ended_at', 'is', null)
              .where((eb) => eb.or([eb('expires_at', '<=', expiredAt), eb('last_seen_at', '<=', idleBefore)]))
              .limit(limit),
          )
        }
        // The first statement writes: on SQLite the transaction takes the write lock at once.
        const rows = await update.returning(['id_hash', 'user_id', 'sid']).execute()
        if (rows.length === 0) return []
        const ended: EndedSession[] = rows.map((row) => ({ idHash: row.id_hash, userId: row.user_id, sid: row.sid }))
        const ids = ended.map((session) => session.idHash)
        await revokeGrantsIn(trx, ending.now, (q) => {
          const bound = q.where('session_id_hash', 'in', ids)
          return ending.revoke === 'all' ? bound : bound.where('offline', '=', 0)
        })
        // Every client that received tokens in these sessions, revoked grants included: its own
        // session may outlive its tokens.
        const clients = await trx
          .selectFrom('grants')
          .innerJoin('clients', 'clients.id', 'grants.client_id')
          .select(['grants.session_id_hash', 'grants.client_id'])
          .distinct()
          .where('grants.session_id_hash', 'in', ids)
          .where('clients.backchannel_logout_uri', 'is not', null)
          .execute()
        const recipients = clients.flatMap((row) =>
          row.session_id_hash === null ? [] : [{ sessionIdHash: row.session_id_hash, clientId: row.client_id }],
        )
        await insertOutboxJobs(trx, ending.jobs(ended, recipients))
        return ended
      })
    },
  }
}
