/** RFC 6749 §4.1.3 checks on a stored code, as pure rules (the route does the atomic consume). */
import { OAuthError } from '../../errors/oauth-error.js'
import { verifyCodeVerifier } from '../pkce.js'
import type { StoredCode } from '../../model/code.js'
import type { Client } from '../../model/client.js'

export interface CodeRedemption {
  readonly redirectUri: string | undefined
  readonly codeVerifier: string | undefined
}

/**
 * Everything but single use. Order matters: a code bound to another client is refused before its
 * replay state is revealed (Keycloak CVE-2026-16089: cross-client redemption).
 */
export function checkCode(code: StoredCode | undefined, client: Client, input: CodeRedemption, now: number): StoredCode {
  if (!code) throw new OAuthError('invalid_grant', 'the authorization code is invalid')
  if (code.clientId !== client.id)
    throw new OAuthError('invalid_grant', 'the authorization code is invalid', { detail: 'code issued to another client' })
  if (code.consumedAt !== null) return code
  if (code.expiresAt <= now) throw new OAuthError('invalid_grant', 'the authorization code has expired')
  if (input.redirectUri !== code.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request')
  verifyCodeVerifier(code.codeChallenge, input.codeVerifier)
  return code
}
