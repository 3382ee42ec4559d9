/** Background pruning of expired rows; safe on every instance at once (plain deletes). */
import type { Deps } from './deps.js'
import type { PruneReport } from './db/store.js'

const DAY = 86400

/**
 * One pass: expired protocol rows (with a day of grace: replayed codes and reused refresh tokens
 * are still recognised for a while), audit events past their retention, idle throttle counters.
 */
export function pruneNow(deps: Pick<Deps, 'store' | 'clock' | 'config'>): Promise<PruneReport> {
  const now = deps.clock.now()
  return deps.store.prune({
    now,
    graceSeconds: DAY,
    sessionIdleSeconds: deps.config.sessionIdleTtl,
    // Grants without refresh tokens go once every access token they could have had has expired.
    shortGrantAgeSeconds: deps.config.accessTokenTtl + deps.config.clockSkew,
    auditCutoff: now - deps.config.auditRetention,
    throttleCutoff: now - DAY,
  })
}

export function startPruning(deps: Deps): () => void {
  const run = async () => {
    try {
      const counts = await pruneNow(deps)
      deps.log.debug({ event: 'prune', ...counts }, 'expired rows pruned')
    } catch (error) {
      deps.log.error({ reason: error instanceof Error ? error.message : String(error) }, 'pruning failed')
    }
  }
  const timer = setInterval(() => void run(), deps.config.pruneInterval * 1000)
  timer.unref()
  void run()
  return () => clearInterval(timer)
}
