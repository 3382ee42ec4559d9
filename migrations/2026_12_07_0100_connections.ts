// Frozen in time: imports only kysely. Upstream identity providers (connections), the upstream
// identities linked to local accounts, and the short-lived state of a sign-in at an upstream.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret', 'text')
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('domains', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('trust_email', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('store_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('server_metadata', 'text', (c) => c.notNull())
    .addColumn('claim_mapping', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('disabled_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('federated_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('tokens', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addUniqueConstraint('federated_identities_connection_subject', ['connection_id', 'subject'])
    .execute()
  await db.schema.createIndex('federated_identities_user_id').on('federated_identities').column('user_id').execute()
  await db.schema
    .createTable('upstream_logins')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('interaction_id', 'text')
    .addColumn('link_user_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute()
  await db.schema.createIndex('upstream_logins_expires_at').on('upstream_logins').column('expires_at').execute()
  await db.schema
    .createTable('pending_links')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('tokens', 'text')
    .addColumn('amr', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('interaction_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute()
  await db.schema.createIndex('pending_links_expires_at').on('pending_links').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['pending_links', 'upstream_logins', 'federated_identities', 'connections'])
    await db.schema.dropTable(table).execute()
}
