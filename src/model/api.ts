/** An API (resource server) tokens can be issued for (RFC 8707: its identifier is the `resource`). */
export interface ApiScope {
  readonly name: string
  /** What the consent screen says the scope lets an application do. */
  readonly description: string
}

export interface Api {
  /** An absolute URI without fragment; access tokens for it carry it as `aud`. */
  readonly identifier: string
  readonly name: string
  readonly scopes: readonly ApiScope[]
  /** Overrides ACCESS_TOKEN_TTL for tokens of this API. */
  readonly accessTokenTtl: number | null
  /** Only operator-registered (first-party) clients may ask for it: not self-registered ones. */
  readonly firstPartyOnly: boolean
  readonly createdAt: number
}
