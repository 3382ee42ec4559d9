/**
 * The signing-key lifecycle as pure functions of (keys, now, policy): no I/O, so every rule is
 * unit-tested with a frozen clock.
 *
 *   next ──rotate──▶ active ──rotate──▶ retired ──(retires_at passes)──▶ removed (deleted or archived)
 *     any published key ──revoke (break-glass)──▶ revoked (out of JWKS at once)
 *
 * `next` keys are published before they sign, so the key that starts signing is already in every
 * cached JWKS; `retired` keys stay published until every token they signed has expired.
 */
import type { KeyChange, KeyRecord } from '../model/signing-key.js'

export interface RotationPolicy {
  /** Longest lifetime of any token we sign plus the clock-skew allowance. */
  readonly retentionSeconds: number
  /** Automatic rotation interval; null when off. */
  readonly rotationIntervalSeconds: number | null
  readonly removal: 'delete' | 'archive'
  /**
   * A scheduled rotation waits until the next key has been published at least this long (the
   * JWKS max-age), so every cache that honours max-age holds it before it signs. Default 0.
   */
  readonly minPublishedSeconds?: number
  /**
   * No next key is promoted, by any rotation, before it has been published this long: every
   * instance re-reads the store within KEY_REFRESH_INTERVAL, so after that interval plus the
   * clock-skew allowance each of them publishes the key before any of them signs with it.
   */
  readonly minPromotionAgeSeconds?: number
}


export const isPublished = (key: KeyRecord, now: number): boolean =>
  key.state === 'next' || key.state === 'active' || (key.state === 'retired' && (key.retiresAt ?? 0) > now)

export const activeKey = (keys: readonly KeyRecord[]): KeyRecord | undefined => keys.find((key) => key.state === 'active')

/** The oldest next key is promoted first: it has been published the longest. */
export const nextKey = (keys: readonly KeyRecord[]): KeyRecord | undefined =>
  [...keys].filter((key) => key.state === 'next').sort((a, b) => a.createdAt - b.createdAt || a.kid.localeCompare(b.kid))[0]

/** Routine rotation: next → active, active → retired, and a fresh next. */
export function planRotation(keys: readonly KeyRecord[], now: number, policy: RotationPolicy): KeyChange[] {
  const changes: KeyChange[] = []
  const current = activeKey(keys)
  const promoted = nextKey(keys)
  if (current) changes.push({ type: 'retire', kid: current.kid, retiresAt: now + policy.retentionSeconds })
  changes.push(promoted ? { type: 'activate', kid: promoted.kid } : { type: 'create', state: 'active' })
  changes.push({ type: 'create', state: 'next' })
  return changes
}

/** Break-glass: the key leaves JWKS now; if it was signing, the next key (or a new one) signs at once. */
export function planRevocation(keys: readonly KeyRecord[], kid: string): KeyChange[] {
  const target = keys.find((key) => key.kid === kid)
  if (!target || target.state === 'revoked' || target.state === 'archived') return []
  const changes: KeyChange[] = [{ type: 'revoke', kid }]
  if (target.state === 'active') {
    const promoted = nextKey(keys.filter((key) => key.kid !== kid))
    changes.push(promoted ? { type: 'activate', kid: promoted.kid } : { type: 'create', state: 'active' })
    changes.push({ type: 'create', state: 'next' })
  } else if (target.state === 'next' && keys.filter((key) => key.state === 'next').length === 1) {
    changes.push({ type: 'create', state: 'next' })
  }
  return changes
}

/**
 * What the store needs at time `now`: exactly one active key, one next key, expired retired keys
 * removed, and a scheduled rotation when the active key has signed for a whole interval.
 */
export function planMaintenance(keys: readonly KeyRecord[], now: number, policy: RotationPolicy): KeyChange[] {
  const current = activeKey(keys)
  const waiting = nextKey(keys)
  const due = current !== undefined && policy.rotationIntervalSeconds !== null && (current.activatedAt ?? current.createdAt) + policy.rotationIntervalSeconds <= now
  const minAge = Math.max(policy.minPublishedSeconds ?? 0, policy.minPromotionAgeSeconds ?? 0)
  if (due && waiting !== undefined && now - waiting.createdAt >= minAge) {
    return [...planRotation(keys, now, policy), ...expiredRemovals(keys, now, policy)]
  }
  const changes: KeyChange[] = []
  if (!current) {
    changes.push(waiting ? { type: 'activate', kid: waiting.kid } : { type: 'create', state: 'active' })
    if (!waiting || keys.filter((key) => key.state === 'next').length === 1) changes.push({ type: 'create', state: 'next' })
  } else if (!waiting) {
    changes.push({ type: 'create', state: 'next' })
  }
  return [...changes, ...expiredRemovals(keys, now, policy)]
}

/** Retired keys whose tokens have all expired, and revoked keys once the same window has passed. */
function expiredRemovals(keys: readonly KeyRecord[], now: number, policy: RotationPolicy): KeyChange[] {
  return keys
    .filter((key) =>
      (key.state === 'retired' && (key.retiresAt ?? 0) <= now) ||
      (key.state === 'revoked' && (key.retiredAt ?? key.createdAt) + policy.retentionSeconds <= now))
    .map((key) => ({ type: 'remove', kid: key.kid, mode: policy.removal }) as const)
}

/**
 * Seconds until a routine rotation may promote the next key (0: now). With no next key waiting,
 * one must first be created and published for the whole age.
 */
export function promotionWaitSeconds(keys: readonly KeyRecord[], now: number, policy: RotationPolicy): number {
  const minAge = policy.minPromotionAgeSeconds ?? 0
  const waiting = nextKey(keys)
  return waiting ? Math.max(0, waiting.createdAt + minAge - now) : minAge
}

/** How long the key a rotation would promote has been published (null when none is waiting). */
export function publishedForSeconds(keys: readonly KeyRecord[], now: number): number | null {
  const promoted = nextKey(keys)
  return promoted ? now - promoted.createdAt : null
}
