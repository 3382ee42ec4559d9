// Frozen in time: imports only kysely. Client logos (logo_uri) are shown on the sign-in and consent
// pages from Tessera's own origin, so the pages' CSP keeps `img-src 'self'`: each logo is fetched
// once (under the SSRF rules of client documents), checked to be an image, and kept here, shared
// by every instance. A failed fetch is kept too (body null), so it is retried later, not per page.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_logos')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('source_uri', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    // base64 of the image: one text column reads the same on SQLite and PostgreSQL.
    .addColumn('body', 'text')
    .addColumn('digest', 'text')
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('client_logos').execute()
}
