import { parseArgs } from 'node:util'
import { pruneNow } from '../maintenance.js'
import type { CommandContext } from './context.js'
import type { CommandResult } from './output.js'

/** Runs the server's pruning once, e.g. from cron when servers are rarely up. */
export async function pruneCommand(context: CommandContext, args: string[]): Promise<CommandResult> {
  parseArgs({ args, options: {} })
  const counts = await context.withDeps((deps) => pruneNow(deps))
  return { json: { pruned: counts }, text: `Pruned: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}` }
}
