// Frozen in time: imports only kysely. Sender-constrained tokens (RFC 9449 DPoP): the key a code
// and a public client's refresh-token family are bound to, and the single-use proof ids shared by
// every instance; pushed authorization requests (RFC 9126); per-client policies for both.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'text').execute()
  await db.schema.alterTable('grants').addColumn('dpop_jkt', 'text').execute()
  await db.schema
    .alterTable('clients')
    .addColumn('require_dpop', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema
    .alterTable('clients')
    .addColumn('require_par', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // RFC 9449 §11.1: a proof's jti is accepted once while its iat is inside the window.
  await db.schema
    .createTable('dpop_proofs')
    .addColumn('jti_hash', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('dpop_proofs_expires_at').on('dpop_proofs').column('expires_at').execute()

  // RFC 9126 §2.2: a pushed request waits here, under the hash of its request_uri, until used once.
  await db.schema
    .createTable('pushed_requests')
    .addColumn('request_uri_hash', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('pushed_requests_expires_at').on('pushed_requests').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('pushed_requests').execute()
  await db.schema.dropTable('dpop_proofs').execute()
  for (const column of ['require_par', 'require_dpop']) await db.schema.alterTable('clients').dropColumn(column).execute()
  await db.schema.alterTable('grants').dropColumn('dpop_jkt').execute()
  await db.schema.alterTable('authorization_codes').dropColumn('dpop_jkt').execute()
}
