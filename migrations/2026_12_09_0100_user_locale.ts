// Frozen in time: imports only kysely. The language a user chose on the account page (en, de, fr,
// es); null until they choose, when pages follow the browser and mails DEFAULT_LOCALE.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('locale', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('locale').execute()
}
