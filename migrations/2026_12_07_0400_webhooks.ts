// Frozen in time: imports only kysely. Event webhooks: operators register URLs that receive
// security and lifecycle events (Standard Webhooks); each delivery is an `outbox` row of kind
// `webhook`, and account mail moves to the same outbox (kind `mail`), so neither needs a table.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  // `events` is a JSON array of types and patterns; `secret` is sealed (AES-256-GCM under a key
  // derived from the KEK), never the secret itself.
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhooks').execute()
}
