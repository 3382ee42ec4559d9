/**
 * Failure throttling kept in the database (docs/security.md §H), so every instance counts
 * together. A rule names a key (an account and device, an account and address, a client and
 * address…) and a policy: after `maxFailures` counted events in the window the key is blocked —
 * 429 with Retry-After — and further blocks in a row last longer (up to the window). Blocks lift
 * by themselves: there is no permanent lock-out. Which keys each action uses is in rules.ts.
 */
import type { Deps } from '../deps.js'
import { RateLimited } from '../errors/to-response.js'
import type { ThrottlePolicy } from '../db/repositories/throttle-counters.js'

export interface ThrottleRule {
  readonly key: string
  readonly policy: ThrottlePolicy
}

type ThrottleDeps = Pick<Deps, 'repos' | 'clock' | 'audit'>

/** Seconds until every rule's key may try again; 0 when none is blocked. */
export async function blockedFor(deps: ThrottleDeps, rules: readonly ThrottleRule[]): Promise<number> {
  return deps.repos.throttleCounters.blockedFor(
    rules.map((rule) => rule.key),
    deps.clock.now(),
  )
}

/** Records the refusal as a security event and throws RateLimited when `wait` > 0. */
export async function refuseWhileBlocked(deps: ThrottleDeps, wait: number, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  if (wait <= 0) return
  await deps.audit.record(
    'throttled',
    { ip, detail: { keys: rules.map((rule) => rule.key.split(':')[0]!) } },
    'blocked after repeated failures',
  )
  throw new RateLimited(wait)
}

/** Throws RateLimited when any rule's key is blocked. */
export async function assertNotBlocked(deps: ThrottleDeps, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  await refuseWhileBlocked(deps, await blockedFor(deps, rules), rules, ip)
}

export async function recordFailures(deps: ThrottleDeps, rules: readonly ThrottleRule[]): Promise<void> {
  const now = deps.clock.now()
  for (const rule of rules) await deps.repos.throttleCounters.recordFailure(rule.key, now, rule.policy)
}

/** For quotas: refuse when blocked, otherwise count this request. */
export async function countRequest(deps: ThrottleDeps, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  await assertNotBlocked(deps, rules, ip)
  await recordFailures(deps, rules)
}

export async function clearFailures(deps: ThrottleDeps, rules: readonly ThrottleRule[]): Promise<void> {
  for (const rule of rules) await deps.repos.throttleCounters.clear(rule.key)
}
