// Frozen in time: imports only kysely. An interaction parked for consent records the session
// that authenticated it, so the consent page cannot complete a request still owed a login.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('interactions').addColumn('session_id_hash', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('interactions').dropColumn('session_id_hash').execute()
}
