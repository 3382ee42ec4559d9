import type { Command } from 'commander'
import { pruneNow } from '../maintenance.js'
import type { CommandContext, RunCommand } from './context.js'
import type { CommandResult } from './output.js'

/** Runs the server's pruning once, e.g. from cron when servers are rarely up. */
async function prune(context: CommandContext): Promise<CommandResult> {
  const counts = await context.withDeps((deps) => pruneNow(deps))
  return {
    json: { pruned: counts },
    text: `Pruned: ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  }
}

/** `idp prune`. */
export function registerPruneCommand(program: Command, run: RunCommand): void {
  program
    .command('prune')
    .description('delete expired rows now (the server also does this every PRUNE_INTERVAL)')
    .action(() => run(prune))
}
