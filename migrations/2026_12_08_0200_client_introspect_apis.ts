// Frozen in time: imports only kysely. A resource server introspects only tokens for its own
// audiences (RFC 7662 §4): `introspect` (1) keeps meaning tokens issued without `resource`
// (ACCESS_TOKEN_AUDIENCE); `introspect_apis` (a JSON array of API identifiers) adds the
// registered APIs it serves. Existing clients keep exactly what they could see of the first kind.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('introspect_apis', 'text', (column) => column.notNull().defaultTo('[]'))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('introspect_apis').execute()
}
