// Frozen in time: imports only kysely.
import type { Kysely } from 'kysely'

// Pruning deletes by expiry in small batches; each batch must find its rows through an index.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('interactions_expiry_idx').on('interactions').column('expires_at').execute()
  await db.schema.createIndex('refresh_tokens_idle_expiry_idx').on('refresh_tokens').column('idle_expires_at').execute()
  await db.schema.createIndex('sessions_expiry_idx').on('sessions').column('expires_at').execute()
  await db.schema.createIndex('account_tokens_expiry_idx').on('account_tokens').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('account_tokens_expiry_idx').execute()
  await db.schema.dropIndex('sessions_expiry_idx').execute()
  await db.schema.dropIndex('refresh_tokens_idle_expiry_idx').execute()
  await db.schema.dropIndex('interactions_expiry_idx').execute()
}
