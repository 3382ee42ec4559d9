/**
 * DPoP proofs (RFC 9449) as pure rules: what a proof's claims must say about the request it came
 * with, and the server nonces that bound how long a proof can be kept before use. Signature
 * verification and the replay cache are in dpop/proofs.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { OAuthError } from '../errors/oauth-error.js'

/** Asymmetric algorithms only (RFC 9449 §4.2): what discovery advertises and proofs may use. */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const

/** How old a proof may be (RFC 9449 §11.1): clients make one per request, just before sending it. */
export const DPOP_PROOF_MAX_AGE = 60

export interface ExpectedProof {
  /** The request's method (htm). */
  readonly method: string
  /** The request's URL as the issuer names it (htu, compared without query and fragment). */
  readonly url: string
  readonly now: number
  /** Allowed clock difference either way (CLOCK_SKEW). */
  readonly skew: number
  /** At a resource endpoint: the access token the proof must name (ath, §4.3 step 11). */
  readonly accessToken?: string
}

const invalid = (description: string) => new OAuthError('invalid_dpop_proof', description)

/** §4.3 step 9: scheme and host compared case-insensitively, the default port implied, no query or fragment. */
export function normalizeHtu(value: string): string | null {
  try {
    const url = new URL(value)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
    url.search = ''
    url.hash = ''
    return url.href
  } catch {
    return null
  }
}

/** §4.2 ath: base64url(SHA-256(the access token's ASCII)). */
export const accessTokenThumbprint = (accessToken: string): string => createHash('sha256').update(accessToken, 'ascii').digest('base64url')

/** Checks the claims of a proof whose signature and header were verified (§4.3 steps 6–11). */
export function checkProofClaims(payload: Record<string, unknown>, expected: ExpectedProof): { jti: string; iat: number } {
  const { jti, htm, htu, iat } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid('the DPoP proof needs a jti')
  if (htm !== expected.method) throw invalid('the DPoP proof is for another HTTP method (htm)')
  if (typeof htu !== 'string' || normalizeHtu(htu) !== normalizeHtu(expected.url)) throw invalid('the DPoP proof is for another URL (htu)')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the DPoP proof needs an iat')
  if (iat > expected.now + expected.skew) throw invalid('the DPoP proof was issued in the future (iat)')
  if (iat < expected.now - DPOP_PROOF_MAX_AGE - expected.skew) throw invalid('the DPoP proof is too old (iat)')
  if (expected.accessToken !== undefined && payload['ath'] !== accessTokenThumbprint(expected.accessToken))
    throw invalid('the DPoP proof does not name this access token (ath)')
  return { jti, iat }
}

/**
 * A code or refresh token bound to a key (RFC 9449 §5, §10) is redeemed only with a proof of
 * that key: no proof is an invalid_dpop_proof, another key an invalid_grant.
 */
export function checkDpopBinding(boundTo: string | null, proved: string | null, what: string): void {
  if (boundTo === null) return
  if (proved === null) throw invalid(`${what} is bound to a DPoP key: send a DPoP proof made with it`)
  if (proved !== boundTo) throw new OAuthError('invalid_grant', `${what} is bound to another DPoP key`)
}

/**
 * Server nonces (§8) without storage: an HMAC of the current minute under a key every instance
 * derives from the KEK. A nonce is good for the minute it was made in and the two after it.
 */
export class DpopNonces {
  constructor(private readonly key: Buffer) {}

  #mac(window: number): string {
    return createHmac('sha256', this.key).update(`dpop-nonce:${window}`).digest('base64url').slice(0, 22)
  }

  issue(now: number): string {
    const window = Math.floor(now / 60)
    return `${window.toString(36)}.${this.#mac(window)}`
  }

  isValid(nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false
    const [encodedWindow, mac] = nonce.split('.')
    if (encodedWindow === undefined || mac === undefined || !/^[0-9a-z]{1,12}$/.test(encodedWindow)) return false
    const window = parseInt(encodedWindow, 36)
    const current = Math.floor(now / 60)
    if (window > current || window < current - 2) return false
    const expected = Buffer.from(this.#mac(window))
    const given = Buffer.from(mac)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
