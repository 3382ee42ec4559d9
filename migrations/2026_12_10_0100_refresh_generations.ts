// Frozen in time: imports only kysely. A grant's refresh tokens are no longer stored one row each
// (issue 20): the grant keeps its family's current generation, and a token names its grant and
// generation under a MAC (tokens/refresh.ts), so a rotated token presented again is recognised
// without a row per rotation. The refresh_tokens table stays for tokens issued before this
// version: the first refresh of such a family moves it to generations.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('grants').addColumn('refresh_generation', 'integer').execute()
  await db.schema.alterTable('grants').addColumn('refresh_issued_at', 'bigint').execute()
  await db.schema.alterTable('grants').addColumn('refresh_idle_expires_at', 'bigint').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('refresh_idle_expires_at').execute()
  await db.schema.alterTable('grants').dropColumn('refresh_issued_at').execute()
  await db.schema.alterTable('grants').dropColumn('refresh_generation').execute()
}
