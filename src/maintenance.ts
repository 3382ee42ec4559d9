/** Background pruning of expired rows; safe on every instance at once (plain deletes). */
import type { Deps } from './deps.js'
import { pruneExpired } from './db/repositories/maintenance.js'

export function startPruning(deps: Deps): () => void {
  const run = async () => {
    try {
      // One day of grace: replayed codes and reused refresh tokens are still recognised for a while.
      const counts = await pruneExpired(deps.db, deps.clock.now(), 86400, deps.config.sessionIdleTtl)
      deps.log.debug({ event: 'prune', ...counts }, 'expired rows pruned')
    } catch (error) {
      deps.log.error({ err: error }, 'pruning failed')
    }
  }
  const timer = setInterval(() => void run(), deps.config.pruneInterval * 1000)
  timer.unref()
  void run()
  return () => clearInterval(timer)
}
