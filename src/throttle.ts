/**
 * Throttling kept in the database (SECURITY.md §H), so every instance counts together. A rule
 * names a key (an email as typed, a client IP, a client_id) and a policy: after `maxFailures`
 * counted events in the window the key is blocked — 429 with Retry-After — and further blocks in
 * a row last longer (up to the window). Blocks lift by themselves: no permanent lockout.
 * Login and client authentication count failures; signup and forgot-password count requests.
 */
import type { Deps } from './deps.js'
import { RateLimited } from './errors/to-response.js'
import type { ThrottlePolicy } from './db/repositories/throttle-counters.js'
import { normaliseEmail } from './db/repositories/users.js'

export interface ThrottleRule {
  readonly key: string
  readonly policy: ThrottlePolicy
}

const FIFTEEN_MINUTES = 15 * 60

/** About ten failures, then 1, 2, 4… minutes. */
export const failurePolicy = (maxFailures: number): ThrottlePolicy => ({ windowSeconds: FIFTEEN_MINUTES, maxFailures, baseBlockSeconds: 60 })

/** A plain quota: `max` requests per window, then wait for the window. */
export const quotaPolicy = (max: number, windowSeconds = FIFTEEN_MINUTES): ThrottlePolicy => ({ windowSeconds, maxFailures: max, baseBlockSeconds: windowSeconds })

/** The throttling key of an email address as submitted — known or not, so a 429 reveals nothing. */
export const emailKey = (prefix: string, email: string): string => `${prefix}:${normaliseEmail(email).slice(0, 320)}`

type ThrottleDeps = Pick<Deps, 'repos' | 'clock' | 'audit'>

/** Throws RateLimited when any rule's key is blocked. */
export async function assertNotBlocked(deps: ThrottleDeps, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  const wait = await deps.repos.throttleCounters.blockedFor(rules.map((rule) => rule.key), deps.clock.now())
  await refuseWhileBlocked(deps, wait, rules, ip)
}

/** The same, for a block already read with other data: `blockedUntil` is the rules' latest block. */
export async function assertNotBlockedUntil(deps: ThrottleDeps, blockedUntil: number | null, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  const now = deps.clock.now()
  await refuseWhileBlocked(deps, blockedUntil !== null && blockedUntil > now ? blockedUntil - now : 0, rules, ip)
}

async function refuseWhileBlocked(deps: ThrottleDeps, wait: number, rules: readonly ThrottleRule[], ip?: string): Promise<void> {
  if (wait > 0) {
    await deps.audit.record('throttled', { ip, detail: { keys: rules.map((rule) => rule.key.split(':')[0]!) } }, 'blocked after repeated attempts')
    throw new RateLimited(wait)
  }
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
