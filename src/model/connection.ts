/** Upstream identity providers and the upstream accounts linked to local ones. */
import type { AuthenticationMethod } from './authentication.js'

export type ConnectionType = 'oidc' | 'oauth2'

/** The upstream's endpoints: discovered from an OpenID provider, or given for plain OAuth 2.0. */
export interface UpstreamEndpoints {
  readonly issuer: string
  readonly authorization_endpoint: string
  readonly token_endpoint: string
  readonly userinfo_endpoint?: string
  readonly jwks_uri?: string
  readonly authorization_response_iss_parameter_supported?: boolean
  readonly code_challenge_methods_supported?: readonly string[]
  readonly token_endpoint_auth_methods_supported?: readonly string[]
}

export interface Connection {
  /** A slug of the name: `/login/connections/<id>/callback` is the redirect URI at the upstream. */
  readonly id: string
  readonly name: string
  readonly type: ConnectionType
  readonly issuer: string
  readonly clientId: string
  /** Sealed under a key derived from the KEK; null for a public client (PKCE only). */
  readonly sealedClientSecret: string | null
  readonly scopes: readonly string[]
  /** Email domains whose users this connection signs in (enterprise SSO). */
  readonly domains: readonly string[]
  /** The upstream vouches for email addresses: a verified email there is verified here. */
  readonly trustEmail: boolean
  /** Keep the upstream's tokens with the linked identity (sealed); off unless asked for. */
  readonly storeTokens: boolean
  readonly endpoints: UpstreamEndpoints
  /** oauth2 only: local claim (`sub`, `email`, `email_verified`, `name`) → field of the user document. */
  readonly claimMapping: Readonly<Record<string, string>>
  readonly disabledAt: number | null
  readonly createdAt: number
}

export interface FederatedIdentity {
  readonly id: string
  readonly connectionId: string
  /** The upstream's stable identifier of the account (`sub`, or the mapped id). */
  readonly subject: string
  readonly userId: string
  readonly email: string | null
  readonly createdAt: number
  readonly lastUsedAt: number | null
}

/** What an upstream said about the person who signed in there, after mapping. */
export interface UpstreamProfile {
  readonly subject: string
  readonly email: string | null
  /** Whether the upstream says the email is verified (trusted only with `trustEmail`). */
  readonly emailVerified: boolean
  readonly name: string | null
  readonly amr: readonly AuthenticationMethod[]
}
