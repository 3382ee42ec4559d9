// Frozen in time: imports only kysely. Access tokens are no longer recorded one row each (issue
// 20): a token's jti names the grant or client it lives and dies with, and only the tokens
// revoked on their own (RFC 7009) are listed here until they expire. The access_tokens table
// stays for tokens issued before this version (it empties as they expire).
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('revoked_access_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('revoked_access_tokens_expires_idx').on('revoked_access_tokens').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('revoked_access_tokens').execute()
}
