/**
 * Periodic maintenance: sessions that expired are ended like a logout (their relying parties get
 * back-channel logout tokens), then expired rows are pruned. Safe on every instance at once: a
 * session is ended by exactly one of them (a conditional update), and pruning is plain deletes.
 */
import type { Deps } from './deps.js'
import type { PruneReport } from './db/store.js'
import { endExpiredSessions } from './sessions/end-session.js'

export type MaintenanceReport = PruneReport & { readonly expiredSessions: number }

const DAY = 86400
/** ACCESS_TOKEN_TTL and an API's access_token_ttl are both at most an hour (config.ts, apis/registry.ts). */
const LONGEST_ACCESS_TOKEN_SECONDS = 3600

/**
 * One pass: sessions past their absolute or idle lifetime not yet ended end now (before pruning
 * could delete them unannounced); then expired protocol rows (with a day of grace: replayed codes
 * and reused refresh tokens are still recognised for a while), finished outbox jobs, audit events
 * past their retention, idle throttle counters.
 */
export async function pruneNow(deps: Pick<Deps, 'store' | 'repos' | 'clock' | 'config' | 'audit' | 'outbox'>): Promise<MaintenanceReport> {
  const expiredSessions = await endExpiredSessions(deps)
  const now = deps.clock.now()
  const pruned = await deps.store.prune({
    now,
    graceSeconds: DAY,
    sessionIdleSeconds: deps.config.sessionIdleTtl,
    // Grants without refresh tokens go once every access token they could have had has expired:
    // a token lives only while its grant row does (model/access-token-id.ts), and an API's tokens
    // may live longer than ACCESS_TOKEN_TTL (up to the hour both are capped at).
    shortGrantAgeSeconds: LONGEST_ACCESS_TOKEN_SECONDS + deps.config.clockSkew,
    auditCutoff: now - deps.config.auditRetention,
    throttleCutoff: now - DAY,
  })
  return { expiredSessions, ...pruned }
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
