/**
 * `idp backup` (and later the admin API): an online copy of an SQLite database (db/backup.ts),
 * audited with its actor. PostgreSQL is refused with a pointer to pg_dump.
 */
import type { Deps } from '../deps.js'
import { backupSqlite, type BackupOutcome } from '../db/backup.js'
import { actorLabel, type Actor } from '../model/actor.js'

export { backupProblem, BackupRefused } from '../db/backup.js'

/** Writes a consistent copy of the database to `file` (new, mode 0600); audited as backup_created. */
export async function backupDatabase(deps: Pick<Deps, 'config' | 'audit'>, file: string, actor: Actor): Promise<BackupOutcome> {
  const outcome = backupSqlite(deps.config.database, file)
  await deps.audit.record('backup_created', { detail: { actor: actorLabel(actor), bytes: outcome.bytes } }, 'database backup written')
  return outcome
}
