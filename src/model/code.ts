import type { Acr } from './acr.js'
import type { AuthenticationMethod } from './authentication.js'

/** An authorization code as issued (RFC 6749 §4.1.2): bound to client, redirect_uri, PKCE, nonce, scope and session. */
export interface AuthorizationCode {
  readonly codeHash: string
  readonly clientId: string
  readonly userId: string
  readonly sessionIdHash: string
  readonly redirectUri: string
  readonly scope: string
  readonly nonce: string | null
  readonly codeChallenge: string | null
  readonly authTime: number
  readonly createdAt: number
  readonly expiresAt: number
  /** The session's authentication methods when the code was issued. */
  readonly amr: readonly AuthenticationMethod[]
  /** RFC 8707: the APIs the authorization named (empty: Tessera's own audience). */
  readonly resources: readonly string[]
  /** RFC 9449 §10: the code is redeemed only with a DPoP proof of this key (dpop_jkt). */
  readonly dpopJkt: string | null
  /** The acr its tokens say: a value the client asked for that the session met (oauth/acr.ts acrForRequest); absent or null: what amr achieves. */
  readonly acr?: Acr | null
}

export interface StoredCode extends AuthorizationCode {
  readonly consumedAt: number | null
  readonly grantId: string | null
}
