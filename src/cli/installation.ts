import fs from 'node:fs'
import type { Command } from 'commander'
import { backupDatabase, backupProblem, BackupRefused } from '../installation/backup.js'
import { exportInstallation, importInstallation, ImportRefused } from '../installation/move.js'
import { KeyStoreError, loadExistingKek } from '../keys/kek.js'
import { CLI_ACTOR } from '../model/actor.js'
import { examples } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { writeNewFile } from './files.js'
import type { CommandResult } from './output.js'

/** The installation's KEK, never a new one: a missing or unreadable one is a CLI line. */
function kekOf(context: CommandContext): Buffer {
  try {
    return loadExistingKek(context.config.keysDir, context.config.keysPassphrase)
  } catch (error) {
    if (error instanceof KeyStoreError)
      throw new CliError(`${error.message}: the key-encryption key of the exporting installation is needed (copy its KEYS_DIR/kek.json)`)
    throw error
  }
}

function required(file: string | undefined, flag: string): string {
  if (file === undefined || file === '') throw new CliError(`${flag} FILE is required`)
  return file
}

async function backup(context: CommandContext, options: { to?: string }): Promise<CommandResult> {
  const file = required(options.to, '--to')
  // Said before anything opens the database (opening an SQLite path would create the file).
  const problem = backupProblem(context.config.database)
  if (problem !== null) throw new CliError(problem)
  const outcome = await context
    .withStore((target) => backupDatabase(target, file, CLI_ACTOR), { migrate: false })
    .catch((error: unknown) => {
      throw error instanceof BackupRefused ? new CliError(error.message) : error
    })
  return {
    json: { backup: outcome.file, bytes: outcome.bytes },
    text: `Backup written to ${outcome.file} (${outcome.bytes} bytes). Keep KEYS_DIR/kek.json too, stored apart: the signing keys in the backup open only with it.`,
  }
}

async function exportAll(context: CommandContext, options: { to?: string }): Promise<CommandResult> {
  const file = required(options.to, '--to')
  if (fs.existsSync(file)) throw new CliError(`${file} exists already; give a new file name (nothing is overwritten)`)
  const document = await context.withDeps((deps) => exportInstallation(deps, kekOf(context), CLI_ACTOR))
  writeNewFile(file, `${JSON.stringify(document)}\n`)
  const counts = Object.entries(document.counts).map(([table, count]) => `${count} ${table}`)
  return {
    json: { exported: file, counts: document.counts },
    text: [
      `Installation exported to ${file}: ${counts.join(', ')}.`,
      'It holds password hashes and sealed keys: keep it like a backup. Import it with the same KEYS_DIR/kek.json (and KEYS_PASSPHRASE).',
    ].join('\n'),
  }
}

async function importAll(context: CommandContext, options: { from?: string }): Promise<CommandResult> {
  const file = required(options.from, '--from')
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new CliError(code === undefined ? `${file} is not JSON` : `cannot read ${file}: ${code}`)
  }
  const kek = kekOf(context)
  const outcome = await context
    .withStore((target) => importInstallation(target, kek, raw, CLI_ACTOR))
    .catch((error: unknown) => {
      throw error instanceof ImportRefused ? new CliError(error.message) : error
    })
  const counts = Object.entries(outcome.counts).map(([table, count]) => `${count} ${table}`)
  return {
    json: { imported: file, counts: outcome.counts, warnings: outcome.warnings },
    text: [
      `Imported from ${file}: ${counts.join(', ')}.`,
      ...outcome.warnings.map((warning) => `Warning: ${warning}.`),
      'Start the server on this database now; users sign in again (sessions and tokens do not move).',
    ].join('\n'),
  }
}

/** `idp backup`, `idp export`, `idp import`. */
export function registerInstallationCommands(program: Command, run: RunCommand): void {
  program
    .command('backup')
    .description('copy the SQLite database to a new file while the server runs (VACUUM INTO: consistent, compact); PostgreSQL: use pg_dump')
    .option('--to <file>', 'the new backup file (required; mode 0600, never overwritten)')
    .addHelpText('after', examples('idp backup --to /backups/idp-$(date +%F).db'))
    .action((options: { to?: string }) => run((context) => backup(context, options)))

  program
    .command('export')
    .description(
      'write clients, users (password hashes kept) with their second factors, APIs, connections and signing keys (still sealed) to one JSON file, to move to another database',
    )
    .option('--to <file>', 'the new export file (required; mode 0600, never overwritten)')
    .addHelpText('after', examples('idp export --to tessera-export.json'))
    .action((options: { to?: string }) => run((context) => exportAll(context, options)))

  program
    .command('import')
    .description(
      "load an export into an empty database (DATABASE_URL; migrated first) before the server first starts on it; needs the exporting installation's KEYS_DIR/kek.json",
    )
    .option('--from <file>', 'the export file (required)')
    .addHelpText(
      'after',
      examples('DATABASE_URL=postgres://tessera:secret@db.internal/tessera KEYS_DIR=./keys idp import --from tessera-export.json'),
    )
    .action((options: { from?: string }) => run((context) => importAll(context, options)))
}
