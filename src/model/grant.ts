import type { Acr } from './acr.js'
import type { AuthenticationMethod } from './authentication.js'

/** What one code redemption (or client_credentials call) authorised; tokens hang off it so they can be taken back together. */
export interface Grant {
  readonly id: string
  readonly userId: string
  readonly clientId: string
  readonly sessionIdHash: string | null
  readonly scope: string
  readonly authTime: number
  readonly createdAt: number
  readonly revokedAt: number | null
  readonly offline: boolean
  readonly expiresAt: number | null
  /** How the user authenticated for this grant; refreshed tokens keep it (OIDC Core §12.2). */
  readonly amr: readonly AuthenticationMethod[]
  /** RFC 8707: the APIs this grant's access tokens may be for (empty: Tessera's own audience). */
  readonly resources: readonly string[]
  /** A public client's refresh tokens need a DPoP proof with this key (RFC 9449 §5); null: not bound. */
  readonly dpopJkt: string | null
  /** The acr of its code, kept by refreshed tokens; absent or null: what amr achieves. */
  readonly acr?: Acr | null
}

/**
 * The refresh-token family of a grant as it stands: the generation of its current token (the
 * only one that may be used), when that token was issued and when it expires unused.
 */
export interface RefreshFamily {
  readonly generation: number
  readonly issuedAt: number
  readonly idleExpiresAt: number
}

/** A grant as read back, with the public id (`sid`) of its login session; null when it has none. */
export interface StoredGrant extends Grant {
  readonly sid: string | null
  /** Null: the grant has no refresh token of the generation kind (none, or one from before them). */
  readonly refresh: RefreshFamily | null
}
