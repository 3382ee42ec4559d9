/** Background pruning of expired rows; safe on every instance at once (plain deletes). */
import { sql } from 'kysely'
import type { Deps } from './deps.js'
import { pruneExpired, type PruneCounts } from './db/repositories/maintenance.js'
import type { WalCheckpoints } from './db/wal-checkpoints.js'

/**
 * One pass: expired protocol rows (with a day of grace) and audit events past their retention.
 * On SQLite the write-ahead log is emptied afterwards, by the server's checkpoint thread if it has one.
 */
export async function pruneNow(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'repos'>, walCheckpoints?: Pick<WalCheckpoints, 'truncate'>): Promise<PruneCounts & { readonly auditEvents: number; readonly throttleCounters: number }> {
  const now = deps.clock.now()
  // One day of grace: replayed codes and reused refresh tokens are still recognised for a while.
  // Grants without refresh tokens go once every access token they could have had has expired.
  const counts = await pruneExpired(deps.db, now, 86400, deps.config.sessionIdleTtl, deps.config.accessTokenTtl + deps.config.clockSkew)
  const auditEvents = await deps.repos.auditEvents.deleteOlderThan(now - deps.config.auditRetention)
  const throttleCounters = await deps.repos.throttleCounters.deleteIdle(now - 86400)
  if (deps.config.database.dialect === 'sqlite') await (walCheckpoints ? walCheckpoints.truncate() : truncateWal(deps))
  return { ...counts, auditEvents, throttleCounters }
}

/**
 * SQLite's automatic checkpoints copy the write-ahead log into the database but cannot start the
 * log over while readers keep using it, which under constant load is always: the -wal file then
 * grows without bound. After each pruning pass a TRUNCATE checkpoint waits (at most the busy
 * timeout) for the readers in flight, copies everything and empties the file.
 */
async function truncateWal(deps: Pick<Deps, 'db'>): Promise<void> {
  await sql`pragma wal_checkpoint(truncate)`.execute(deps.db)
}

export function startPruning(deps: Deps, walCheckpoints?: WalCheckpoints): () => void {
  const run = async () => {
    try {
      const counts = await pruneNow(deps, walCheckpoints)
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
