/** A registered relying party (or resource server), as rules and storage both see it. */
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials'
export const GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials']

export interface Client {
  readonly id: string
  readonly name: string
  /** Null for public clients (token endpoint auth method `none`). */
  readonly secretHash: string | null
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly grantTypes: readonly GrantType[]
  /** Scopes the client may ask for (client_credentials and authorization code alike). */
  readonly scopes: readonly string[]
  readonly pkceRequired: boolean
  /** First-party clients are trusted: no consent screen. */
  readonly firstParty: boolean
  /** A resource server: may introspect access tokens issued to other clients (RFC 7662 §4). */
  readonly introspect: boolean
  /** Every sign-in for this client needs a second factor (acr urn:tessera:mfa or better). */
  readonly requireMfa: boolean
  readonly createdAt: number
}

export const isPublicClient = (client: Client): boolean => client.secretHash === null
