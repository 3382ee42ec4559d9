// Frozen in time: imports only kysely and Node. OpenID Connect Back-Channel Logout 1.0: every
// session gets a public session id (`sid`, kept by a same-user renewal so relying parties can
// match it), clients may register a back-channel logout URI, and one durable outbox table holds
// work done after the request that caused it (logout tokens first), claimed row by row by
// whichever instance gets there first.
import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'

/** The one table this migration reads, as it was at this point in time. */
interface Tables {
  sessions: { id_hash: string; sid: string; ended_at: number | null }
}

/** Rows given their sid per statement (three parameters each, far below either dialect's limit). */
const BATCH = 500

export async function up(untyped: Kysely<unknown>): Promise<void> {
  const db = untyped as Kysely<Tables>
  // SQLite adds a NOT NULL column only with a default; every row gets a random id just below.
  await db.schema
    .alterTable('sessions')
    .addColumn('sid', 'text', (c) => c.notNull().defaultTo(''))
    .execute()
  // Sessions not yet ended each get a random sid. Ended ones keep '' (read as "none"): they are
  // never renewed or logged out again, and pruning removes them within a day.
  for (;;) {
    const batch = await db
      .selectFrom('sessions')
      .select('id_hash')
      .where('ended_at', 'is', null)
      .where('sid', '=', '')
      .limit(BATCH)
      .execute()
    if (batch.length === 0) break
    const ids = batch.map((row) => row.id_hash)
    await db
      .updateTable('sessions')
      .set((eb) => {
        let sid = eb.case('id_hash').when(ids[0]!).then(randomBytes(16).toString('base64url'))
        for (const id of ids.slice(1)) sid = sid.when(id).then(randomBytes(16).toString('base64url'))
        return { sid: sid.else(eb.ref('sid')).end() }
      })
      .where('id_hash', 'in', ids)
      .execute()
    if (batch.length < BATCH) break
  }
  // The expiry sweep looks for live sessions idle too long (the absolute expiry has its index).
  await db.schema
    .createIndex('sessions_live_last_seen_idx')
    .on('sessions')
    .column('last_seen_at')
    .where(sql.ref('ended_at'), 'is', null)
    .execute()

  await db.schema.alterTable('clients').addColumn('backchannel_logout_uri', 'text').execute()
  await db.schema
    .alterTable('clients')
    .addColumn('backchannel_logout_session_required', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // Times in epoch seconds like every other table; a row is pending while both delivered_at and
  // failed_at are null, and claimed while locked_until is in the future (lock_token names the claim).
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('locked_until', 'bigint')
    .addColumn('lock_token', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'bigint')
    .addColumn('failed_at', 'bigint')
    .execute()
  await db.schema
    .createIndex('outbox_pending_idx')
    .on('outbox')
    .column('next_attempt_at')
    .where(sql.ref('delivered_at'), 'is', null)
    .where(sql.ref('failed_at'), 'is', null)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbox').execute()
  await db.schema.alterTable('clients').dropColumn('backchannel_logout_session_required').execute()
  await db.schema.alterTable('clients').dropColumn('backchannel_logout_uri').execute()
  await db.schema.dropIndex('sessions_live_last_seen_idx').execute()
  await db.schema.alterTable('sessions').dropColumn('sid').execute()
}
