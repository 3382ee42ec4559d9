/**
 * The device authorization grant (RFC 8628) as pure rules: user codes people can read and type,
 * the scope a device may ask for, what the verification page may do with a code, and what the
 * token endpoint answers to a poll.
 */
import { randomBytes } from 'node:crypto'
import type { Api } from '../../model/api.js'
import type { Client } from '../../model/client.js'
import type { DeviceApproval, StoredDeviceAuthorization } from '../../model/device-authorization.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { apiScopeNames, clientApiScopes } from '../resource.js'
import { formatScope, parseScope } from '../scope.js'

/**
 * RFC 8628 §6.1: consonants only (no vowels, so no words), upper case, none easily confused with
 * another or with a digit. 20^8 ≈ 2^34.6 codes; guessing is throttled besides (§5.1).
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
export const USER_CODE_LENGTH = 8
/** RFC 8628 §3.2: the default polling interval, and what slow_down adds to it (§3.5). */
export const POLL_INTERVAL = 5
export const SLOW_DOWN_STEP = 5

/** A random user code, each letter uniform over the alphabet (rejection sampling: no modulo bias). */
export function generateUserCode(random: (size: number) => Uint8Array = randomBytes): string {
  const limit = 256 - (256 % USER_CODE_ALPHABET.length)
  let code = ''
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of random(USER_CODE_LENGTH * 2)) {
      if (byte < limit && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]
    }
  }
  return code
}

/** As shown to people: XXXX-XXXX. */
export const formatUserCode = (code: string): string => `${code.slice(0, 4)}-${code.slice(4)}`

/**
 * What a person typed, as stored (RFC 8628 §6.1: case-insensitive, punctuation ignored): upper
 * case, spaces and dashes dropped. Null when it cannot be a user code at all (a typo, not a guess).
 */
export function normaliseUserCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s\-‐‑‒–—]/g, '')
  if (code.length !== USER_CODE_LENGTH) return null
  return [...code].every((letter) => USER_CODE_ALPHABET.includes(letter)) ? code : null
}

/**
 * The scope of a device authorization, as /authorize decides it: OpenID requests name openid, a
 * plain OAuth request for an API (RFC 8707) need not; scopes the client is not registered for are
 * dropped (OIDC Core §3.1.2.1). offline_access is kept even for third-party clients: the
 * verification page always asks the user (OIDC Core §11 "prompt=consent").
 */
export function deviceAuthorizationScope(raw: string | undefined, client: Client, apis: readonly Api[]): string {
  const scopes = parseScope(raw)
  if (!scopes.includes('openid') && apis.length === 0) throw new OAuthError('invalid_scope', 'scope must include openid')
  const apiScopes = new Set(apis.flatMap((api) => clientApiScopes(client.scopes, apiScopeNames(api))))
  return formatScope(scopes.filter((scope) => client.scopes.includes(scope) || apiScopes.has(scope)))
}

/** What the verification page may do with the code a person typed. */
export type VerificationState = 'unknown' | 'expired' | 'decided' | 'pending'

export function verificationState(authorization: StoredDeviceAuthorization | undefined, now: number): VerificationState {
  if (!authorization) return 'unknown'
  if (authorization.status !== 'pending' || authorization.consumedAt !== null) return 'decided'
  if (authorization.expiresAt <= now) return 'expired'
  return 'pending'
}

/** What a poll of the token endpoint finds (RFC 8628 §3.4, §3.5). */
export type PollDecision =
  | { readonly outcome: 'issue'; readonly authorization: StoredDeviceAuthorization; readonly approval: DeviceApproval }
  | { readonly outcome: 'replayed'; readonly grantId: string | null }
  | { readonly outcome: 'pending' | 'slow_down'; readonly authorization: StoredDeviceAuthorization; readonly interval: number }

/**
 * Throws the RFC 8628 §3.5 error for a poll, or says what to do. Order matters: a device code of
 * another client is refused before anything about it is revealed; an approved or denied code is
 * answered whatever the interval (slow_down is a variant of authorization_pending only). Every
 * error here is a 400, as RFC 6749 §5.2 has it for the token endpoint.
 */
export function decidePoll(authorization: StoredDeviceAuthorization | undefined, client: Client, now: number): PollDecision {
  if (!authorization || authorization.clientId !== client.id)
    throw new OAuthError('invalid_grant', 'the device code is invalid', {
      ...(authorization ? { detail: 'device code issued to another client' } : {}),
    })
  if (authorization.consumedAt !== null) return { outcome: 'replayed', grantId: authorization.grantId }
  if (authorization.expiresAt <= now) throw new OAuthError('expired_token', 'the device code has expired; start again')
  if (authorization.status === 'denied') throw new OAuthError('access_denied', 'the user denied the request', { status: 400 })
  if (authorization.status === 'approved' && authorization.approval !== null)
    return { outcome: 'issue', authorization, approval: authorization.approval }
  const { lastPolledAt, interval } = authorization
  if (lastPolledAt !== null && now - lastPolledAt < interval)
    return { outcome: 'slow_down', authorization, interval: interval + SLOW_DOWN_STEP }
  return { outcome: 'pending', authorization, interval }
}

/** The error a pending poll answers. */
export function pendingError(decision: { readonly outcome: 'pending' | 'slow_down'; readonly interval: number }): OAuthError {
  return decision.outcome === 'slow_down'
    ? new OAuthError('slow_down', `polling too fast: wait at least ${decision.interval} seconds between polls`)
    : new OAuthError('authorization_pending', 'the user has not yet answered')
}
