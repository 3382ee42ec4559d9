// Frozen in time: imports only kysely. Rotating a client's secret with an overlap: the previous
// secret's hash and the end of its overlap are kept beside the new one, and client
// authentication accepts either until then. Both null: no previous secret.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('previous_secret_hash', 'text').execute()
  await db.schema.alterTable('clients').addColumn('previous_secret_expires_at', 'bigint').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('previous_secret_expires_at').execute()
  await db.schema.alterTable('clients').dropColumn('previous_secret_hash').execute()
}
