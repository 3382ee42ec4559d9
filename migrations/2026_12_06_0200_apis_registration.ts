// Frozen in time: imports only kysely. Registered APIs (resource servers, RFC 8707 resource
// indicators) with their scopes, which clients may ask for which API, the resources an
// authorization and a grant cover, dynamically registered clients (RFC 7591/7592) and the initial
// access tokens that allow registering, client ID metadata documents' cache lifetime, and the
// single-use ids of private_key_jwt client assertions.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apis')
    .addColumn('identifier', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('access_token_ttl', 'integer')
    .addColumn('first_party_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('client_apis')
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('api', 'text', (c) => c.notNull().references('apis.identifier').onDelete('cascade'))
    .addPrimaryKeyConstraint('client_apis_pk', ['client_id', 'api'])
    .execute()

  await db.schema
    .createTable('registration_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('max_uses', 'integer')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // How a client came to exist: cli (an operator), dynamic (RFC 7591).
  await db.schema
    .alterTable('clients')
    .addColumn('registration', 'text', (c) => c.notNull().defaultTo('cli'))
    .execute()
  await db.schema.alterTable('clients').addColumn('registration_token_hash', 'text').execute()
  await db.schema
    .alterTable('clients')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute()
  // When a client ID metadata document is fetched again (its cache lifetime, with a ceiling).
  await db.schema.alterTable('clients').addColumn('refresh_at', 'bigint').execute()

  // RFC 7523 §3 (7): a client assertion's jti is used once; rows live until the assertion expires.
  await db.schema
    .createTable('client_assertions')
    .addColumn('jti_hash', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('client_assertions_expires_at').on('client_assertions').column('expires_at').execute()

  await db.schema
    .alterTable('authorization_codes')
    .addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute()
  await db.schema
    .alterTable('grants')
    .addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('resources').execute()
  await db.schema.alterTable('authorization_codes').dropColumn('resources').execute()
  await db.schema.dropTable('client_assertions').execute()
  for (const column of ['refresh_at', 'metadata', 'registration_token_hash', 'registration'])
    await db.schema.alterTable('clients').dropColumn(column).execute()
  for (const table of ['registration_tokens', 'client_apis', 'apis']) await db.schema.dropTable(table).execute()
}
