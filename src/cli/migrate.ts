import { parseArgs } from 'node:util'
import { connectDatabase, migrationLockFile } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import type { CommandContext } from './context.js'
import type { CommandResult } from './output.js'

export async function migrateCommand(context: CommandContext, args: string[]): Promise<CommandResult> {
  parseArgs({ args, options: {} })
  const db = connectDatabase(context.config.database)
  try {
    const { applied } = await migrateToLatest(db, undefined, migrationLockFile(context.config.database))
    return { json: { applied }, text: applied.length === 0 ? 'Database is up to date.' : `Applied: ${applied.join(', ')}` }
  } finally {
    await db.destroy()
  }
}
