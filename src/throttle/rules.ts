/**
 * Which failures count against which keys (docs/security.md §H). The principle: throttle
 * failures, never successes, and never hand a stranger a lock-out button —
 *
 * - a browser that signed in to an account before (device cookie, OWASP "Slow Down Online
 *   Guessing Attacks with Device Cookies") is only ever limited by its own failures;
 * - other browsers are limited per (account, address), per account across addresses (a
 *   distributed guess) and per address across accounts (credential stuffing);
 * - client secrets are 256-bit random, so a correct one is never refused: failures are counted
 *   per (client, address) and per address, and only failing requests are answered 429.
 *
 * Keys hold the canonical email as submitted, known or not, so a block reveals nothing.
 */
import type { Config } from '../config/config.js'
import type { ThrottlePolicy } from '../db/repositories/throttle-counters.js'
import { normaliseEmail } from '../accounts/email-address.js'
import type { ThrottleRule } from './guard.js'

const FIFTEEN_MINUTES = 15 * 60

/** `maxFailures` within 15 minutes, then blocks of 1, 2, 4… minutes (at most 15). */
export const failurePolicy = (maxFailures: number): ThrottlePolicy => ({
  windowSeconds: FIFTEEN_MINUTES,
  maxFailures,
  baseBlockSeconds: 60,
})

/** A plain quota: `max` requests per window, then wait for the window. */
export const quotaPolicy = (max: number, windowSeconds = FIFTEEN_MINUTES): ThrottlePolicy => ({
  windowSeconds,
  maxFailures: max,
  baseBlockSeconds: windowSeconds,
})

const account = (email: string): string => normaliseEmail(email).slice(0, 320)

type Limits = Pick<Config, 'loginFailureLimit' | 'loginAccountFailureLimit' | 'ipFailureLimit' | 'clientAuthFailureLimit'>

export interface LoginThrottle {
  /** Checked before the password is. */
  readonly rules: readonly ThrottleRule[]
  /** Cleared by a successful login: the pair's own counter (not the shared ones). */
  readonly clearOnSuccess: readonly ThrottleRule[]
}

/** Login with a password; `deviceId` is the browser's device cookie when it is trusted for this account. */
export function loginThrottle(limits: Limits, email: string, ip: string, deviceId: string | null): LoginThrottle {
  const who = account(email)
  if (deviceId !== null) {
    const own = { key: `login-device:${who}:${deviceId}`, policy: failurePolicy(limits.loginFailureLimit) }
    return { rules: [own], clearOnSuccess: [own] }
  }
  const pair = { key: `login-account-ip:${who}:${ip}`, policy: failurePolicy(limits.loginFailureLimit) }
  return {
    rules: [
      pair,
      { key: `login-account:${who}`, policy: failurePolicy(limits.loginAccountFailureLimit) },
      { key: `login-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) },
    ],
    clearOnSuccess: [pair],
  }
}

/** The two keys of client authentication: per (client, address) and per address. */
export function clientAuthenticationRules(limits: Limits, clientId: string, ip: string): readonly [ThrottleRule, ThrottleRule] {
  return [
    { key: `client-auth:${clientId.slice(0, 200)}:${ip}`, policy: failurePolicy(limits.clientAuthFailureLimit) },
    { key: `client-auth-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) },
  ]
}

/** Dead or made-up reset links posted from one address. */
export const resetLinkRules = (limits: Limits, ip: string): readonly ThrottleRule[] => [
  { key: `reset-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) },
]

/** Wrong current passwords on the account page, per user: a stolen session is no guessing oracle. */
export const passwordChangeRules = (limits: Limits, userId: string): readonly ThrottleRule[] => [
  { key: `password-change:${userId}`, policy: failurePolicy(limits.loginFailureLimit) },
]

/**
 * A per-address mail quota (signup, forgot-password). A browser that signed in to the account
 * before has a quota of its own, so strangers exhausting the shared one cannot block the owner.
 */
export function emailQuota(prefix: string, max: number, email: string, deviceId: string | null): readonly ThrottleRule[] {
  const who = account(email)
  return [{ key: deviceId === null ? `${prefix}:${who}` : `${prefix}-device:${who}:${deviceId}`, policy: quotaPolicy(max) }]
}

/**
 * Second-factor codes and passkeys after a correct password: the attacker, if any, knows the
 * password. Failures count per (user, trusted browser) or, for other browsers, per user; plus the
 * address. The owner's trusted browsers are never blocked by failures elsewhere.
 */
export function secondFactorRules(limits: Limits, userId: string, ip: string, deviceId: string | null): readonly ThrottleRule[] {
  return [
    {
      key: deviceId === null ? `mfa-account:${userId}` : `mfa-device:${userId}:${deviceId}`,
      policy: failurePolicy(limits.loginFailureLimit),
    },
    ...(deviceId === null ? [{ key: `mfa-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) }] : []),
  ]
}

/** Refused passkey sign-ins (forged or replayed assertions) from one address. */
export const passkeyLoginRules = (limits: Limits, ip: string): readonly ThrottleRule[] => [
  { key: `passkey-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) },
]

/**
 * Wrong user codes at the device verification page (RFC 8628 §5.1), typed by a signed-in user:
 * per (user, trusted browser), or for other browsers per user and per address. Only someone
 * signed in as the user can count against the user's keys, and the owner's trusted browsers are
 * never blocked by failures elsewhere.
 */
export function userCodeRules(limits: Limits, userId: string, ip: string, deviceId: string | null): readonly ThrottleRule[] {
  if (deviceId !== null) return [{ key: `user-code-device:${userId}:${deviceId}`, policy: failurePolicy(limits.loginFailureLimit) }]
  return [
    { key: `user-code-account:${userId}`, policy: failurePolicy(limits.loginFailureLimit) },
    { key: `user-code-ip:${ip}`, policy: failurePolicy(limits.ipFailureLimit) },
  ]
}
