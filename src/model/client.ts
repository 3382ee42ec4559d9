/** A registered relying party (or resource server), as rules and storage both see it. */
/** RFC 8628 §3.4. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export type GrantType =
  'authorization_code' | 'refresh_token' | 'client_credentials' | typeof DEVICE_CODE_GRANT | typeof TOKEN_EXCHANGE_GRANT
export const GRANT_TYPES: readonly GrantType[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  DEVICE_CODE_GRANT,
  TOKEN_EXCHANGE_GRANT,
]

export interface Client {
  readonly id: string
  readonly name: string
  /** Null for public clients (token endpoint auth method `none`). */
  readonly secretHash: string | null
  /** The secret before the last rotation, accepted until `expiresAt` (`idp clients rotate-secret --overlap`). */
  readonly previousSecret: PreviousSecret | null
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly grantTypes: readonly GrantType[]
  /** Scopes the client may ask for (client_credentials and authorization code alike). */
  readonly scopes: readonly string[]
  readonly pkceRequired: boolean
  /** First-party clients are trusted: no consent screen. */
  readonly firstParty: boolean
  /**
   * A resource server for Tessera's own audience: may introspect other clients' access tokens
   * issued without `resource` (aud ACCESS_TOKEN_AUDIENCE), RFC 7662 §4.
   */
  readonly introspect: boolean
  /** A resource server for these registered APIs: may introspect other clients' tokens for them. */
  readonly introspectApis: readonly string[]
  /** Every sign-in for this client needs a second factor (acr urn:tessera:mfa or better). */
  readonly requireMfa: boolean
  /** Every token request needs a DPoP proof: tokens are always sender-constrained (RFC 9449). */
  readonly requireDpop: boolean
  /** Authorization requests only by reference from /par (RFC 9126 §5). */
  readonly requirePar: boolean
  /** OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed; null: not registered. */
  readonly backchannelLogoutUri: string | null
  /** The client asked for `sid` in its logout tokens (Tessera always includes it). */
  readonly backchannelLogoutSessionRequired: boolean
  /**
   * How the client came to exist: an operator (`cli`), RFC 7591 dynamic registration (`dynamic`),
   * or a client ID metadata document fetched from its URL (`metadata_document`). Only operator
   * clients can be first-party; the others may ask for any API not registered first-party-only.
   */
  readonly registration: ClientRegistration
  /** Registration metadata shown on pages and echoed by RFC 7592 (client_uri, logo_uri, contacts…). */
  readonly metadata: Readonly<Record<string, unknown>>
  /** A metadata-document client is fetched again after this time (epoch seconds); null for the others. */
  readonly refreshAt: number | null
  readonly createdAt: number
}

export type ClientRegistration = 'cli' | 'dynamic' | 'metadata_document'

/** A rotated-out secret still accepted during the overlap: its hash and when it stops working (epoch seconds). */
export interface PreviousSecret {
  readonly hash: string
  readonly expiresAt: number
}

/** RFC 7591 §2 token_endpoint_auth_method values Tessera accepts. */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt'

/** The client proves itself with a JWT signed by its own key (RFC 7523 §2.2), not a secret. */
export const usesPrivateKeyJwt = (client: Client): boolean => client.metadata['token_endpoint_auth_method'] === 'private_key_jwt'

/** Cannot authenticate at all (RFC 6749 §2.1): no secret and no key. */
export const isPublicClient = (client: Client): boolean => client.secretHash === null && !usesPrivateKeyJwt(client)

/** The per-client settings an operator may change after registration (`idp clients update`). */
export type ClientPolicies = Partial<
  Pick<Client, 'requireMfa' | 'requireDpop' | 'requirePar' | 'backchannelLogoutUri' | 'backchannelLogoutSessionRequired'>
>
