// Frozen in time: imports only kysely. Self-service accounts: roles for RBAC, single-use tokens
// sent by mail (email verification, password reset), and what the account page shows of sessions.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute()
  // A public handle lets the account page end one session without exposing the cookie's hash.
  await db.schema.alterTable('sessions').addColumn('handle', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute()
  await db.schema
    .createTable('account_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute()
  await db.schema.createIndex('account_tokens_user_purpose_idx').on('account_tokens').columns(['user_id', 'purpose']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('account_tokens').execute()
  await db.schema.alterTable('sessions').dropColumn('user_agent').execute()
  await db.schema.alterTable('sessions').dropColumn('handle').execute()
  await db.schema.alterTable('users').dropColumn('roles').execute()
}
