import type { Command } from 'commander'
import { openStore } from '../db/store.js'
import type { CommandContext, RunCommand } from './context.js'
import type { CommandResult } from './output.js'

/** Applies pending migrations without starting anything else (the server also does this at start). */
async function migrate(context: CommandContext): Promise<CommandResult> {
  const store = await openStore(context.config.database)
  await store.close()
  const { applied } = store.migrated
  return { json: { applied }, text: applied.length === 0 ? 'Database is up to date.' : `Applied: ${applied.join(', ')}` }
}

/** `idp migrate`. */
export function registerMigrateCommand(program: Command, run: RunCommand): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the server also does this at start)')
    .action(() => run(migrate))
}
