import type { ExpressionBuilder } from 'kysely'
import type { Db } from '../connect.js'
import type { Database } from '../schema.js'

/** Tables whose rows were approved in a login session and die with it (codes, device approvals). */
type SessionBound = 'authorization_codes' | 'device_codes'

/**
 * EXISTS a live login session for the row's session_id_hash: redeeming what a session approved
 * is refused once that session has ended (a logout voids its unredeemed codes).
 */
export function inLiveSession<T extends SessionBound>(eb: ExpressionBuilder<Database, T>, table: T, now: number) {
  // Typed through the union of both tables: kysely cannot narrow a generic table's columns.
  const builder = eb as unknown as ExpressionBuilder<Database, SessionBound>
  return builder.exists(
    builder
      .selectFrom('sessions')
      .select('sessions.id_hash')
      .whereRef('sessions.id_hash', '=', `${table}.session_id_hash` as `${SessionBound}.session_id_hash`)
      .where('sessions.ended_at', 'is', null)
      .where('sessions.expires_at', '>', now),
  )
}

/** The public id (`sid`) of a session, for the ID token of what it approved; null when there is none. */
export async function sessionSid(db: Db, idHash: string | null): Promise<string | null> {
  if (idHash === null) return null
  const row = await db.selectFrom('sessions').select('sid').where('id_hash', '=', idHash).executeTakeFirst()
  // '' is the sid of a session that had ended before sessions had one.
  return row?.sid || null
}
