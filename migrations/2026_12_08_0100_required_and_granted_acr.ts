// Frozen in time: imports only kysely. Which acr a step-up must reach, kept with the pending
// sign-in (the second-factor page offers only factors that reach it); and which acr an
// authorization answered with, kept with its code and grant: a value the client asked for that
// the session meets (OIDC Core §5.5.1.1), which the ID token (and refreshed ones) carry. Null:
// nothing was required, or the acr follows from amr as before.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pending_logins').addColumn('required_acr', 'text').execute()
  await db.schema.alterTable('authorization_codes').addColumn('acr', 'text').execute()
  await db.schema.alterTable('grants').addColumn('acr', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('acr').execute()
  await db.schema.alterTable('authorization_codes').dropColumn('acr').execute()
  await db.schema.alterTable('pending_logins').dropColumn('required_acr').execute()
}
