import type { Command } from 'commander'
import { collisionWarning, emailCollisions } from '../accounts/email-collisions.js'
import { openStore } from '../db/store.js'
import type { CommandContext, RunCommand } from './context.js'
import type { CommandResult } from './output.js'

/** Applies pending migrations without starting anything else (the server also does this at start). */
async function migrate(context: CommandContext): Promise<CommandResult> {
  const store = await openStore(context.config.database)
  const { applied } = store.migrated
  let warning: string | null
  try {
    warning = collisionWarning(emailCollisions(await store.repos.users.list()))
  } finally {
    await store.close()
  }
  const done = applied.length === 0 ? 'Database is up to date.' : `Applied: ${applied.join(', ')}`
  return { json: { applied, warning }, text: warning === null ? done : `${done}\nWarning: ${warning}` }
}

/** `idp migrate`. */
export function registerMigrateCommand(program: Command, run: RunCommand): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the server also does this at start)')
    .action(() => run(migrate))
}
