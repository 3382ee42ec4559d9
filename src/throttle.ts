/**
 * Failure throttling (SECURITY.md §H): about ten failures in a window block the key (an email as
 * typed, a client IP, a client_id) with 429 and Retry-After; further blocks in a row last longer
 * (1, 2, 4… minutes, at most the window); blocks lift by themselves — no permanent lockout.
 * Counters live in the database, so every instance counts together.
 */
import type { Deps } from './deps.js'
import { RateLimited } from './errors/to-response.js'
import type { ThrottlePolicy } from './db/repositories/throttle-counters.js'

export const FAILURE_POLICY: ThrottlePolicy = { windowSeconds: 15 * 60, maxFailures: 10, baseBlockSeconds: 60 }

type ThrottleDeps = Pick<Deps, 'repos' | 'clock' | 'audit'>

/** Throws RateLimited when any of the keys is blocked. */
export async function assertNotBlocked(deps: ThrottleDeps, keys: readonly string[], ip?: string): Promise<void> {
  const now = deps.clock.now()
  let wait = 0
  for (const key of keys) wait = Math.max(wait, await deps.repos.throttleCounters.blockedFor(key, now))
  if (wait > 0) {
    await deps.audit.record('throttled', { ip, detail: { keys: keys.map((key) => key.split(':')[0]!) } }, 'blocked after repeated failures')
    throw new RateLimited(wait)
  }
}

export async function recordFailures(deps: ThrottleDeps, keys: readonly string[], policy: ThrottlePolicy = FAILURE_POLICY): Promise<void> {
  const now = deps.clock.now()
  for (const key of keys) await deps.repos.throttleCounters.recordFailure(key, now, policy)
}

export async function clearFailures(deps: ThrottleDeps, keys: readonly string[]): Promise<void> {
  for (const key of keys) await deps.repos.throttleCounters.clear(key)
}
