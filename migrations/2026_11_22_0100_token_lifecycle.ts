// Frozen in time: imports only kysely. Refresh-token families, consent records, and the bits of
// a grant that refresh and logout need.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('grants')
    .addColumn('offline', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema.alterTable('grants').addColumn('expires_at', 'bigint').execute()
  await db.schema.createIndex('grants_session_idx').on('grants').column('session_id_hash').execute()
  await db.schema.createIndex('grants_user_client_idx').on('grants').columns(['user_id', 'client_id']).execute()

  // A family is a grant: every rotation adds a row under the same grant_id.
  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute()
  await db.schema.createIndex('refresh_tokens_grant_idx').on('refresh_tokens').column('grant_id').execute()

  await db.schema
    .createTable('consents')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('consents_pk', ['user_id', 'client_id'])
    .execute()

  await db.schema.createIndex('access_tokens_expiry_idx').on('access_tokens').column('expires_at').execute()
  await db.schema.createIndex('authorization_codes_expiry_idx').on('authorization_codes').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('authorization_codes_expiry_idx').execute()
  await db.schema.dropIndex('access_tokens_expiry_idx').execute()
  await db.schema.dropTable('consents').execute()
  await db.schema.dropTable('refresh_tokens').execute()
  await db.schema.dropIndex('grants_user_client_idx').execute()
  await db.schema.dropIndex('grants_session_idx').execute()
  await db.schema.alterTable('grants').dropColumn('expires_at').execute()
  await db.schema.alterTable('grants').dropColumn('offline').execute()
}
