/** RFC 7636 with only S256 (docs/security.md §B: `plain` and downgrades are refused). */
import { createHash, timingSafeEqual } from 'node:crypto'
import { OAuthError } from '../errors/oauth-error.js'

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/** Validates the challenge sent at /authorize; returns it, or null when none was sent and none is required. */
export function checkCodeChallenge(challenge: string | undefined, method: string | undefined, required: boolean): string | null {
  if (challenge === undefined) {
    if (method !== undefined) throw new OAuthError('invalid_request', 'code_challenge_method without code_challenge')
    if (required) throw new OAuthError('invalid_request', 'code_challenge is required (PKCE with S256)')
    return null
  }
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256')
  if (!CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'code_challenge must be 43 base64url characters')
  return challenge
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/** Checks the verifier at /token against the stored challenge, including the downgrade case. */
export function verifyCodeVerifier(challenge: string | null, verifier: string | undefined): void {
  if (challenge === null) {
    // No challenge at /authorize but a verifier now: a downgrade attempt (CVE-2024-23647 class).
    if (verifier !== undefined) throw new OAuthError('invalid_grant', 'code_verifier sent but no code_challenge was used')
    return
  }
  if (verifier === undefined) throw new OAuthError('invalid_grant', 'code_verifier is required')
  if (!VERIFIER.test(verifier)) throw new OAuthError('invalid_grant', 'code_verifier is malformed')
  const expected = Buffer.from(challenge)
  const actual = Buffer.from(s256(verifier))
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
    throw new OAuthError('invalid_grant', 'code_verifier does not match')
}
