/** Second factors as rules and storage see them. */
import type { Acr } from './acr.js'
import type { AuthenticationMethod } from './authentication.js'

/** A passkey (WebAuthn credential): its public key, signature counter and what the authenticator said of itself. */
export interface Passkey {
  /** The credential ID, base64url. */
  readonly id: string
  readonly userId: string
  readonly name: string
  /** COSE public key, base64url. */
  readonly publicKey: string
  readonly counter: number
  readonly transports: readonly string[]
  /** singleDevice: bound to one authenticator (amr hwk); multiDevice: synced (amr swk). */
  readonly deviceType: 'singleDevice' | 'multiDevice'
  readonly backedUp: boolean
  readonly aaguid: string
  readonly createdAt: number
  readonly lastUsedAt: number | null
}

/** An authenticator-app secret (RFC 6238), sealed under a key derived from the key-encryption key. */
export interface TotpFactor {
  readonly userId: string
  readonly sealedSecret: string
  readonly createdAt: number
  /** Null until the user entered a first code: not yet a factor. */
  readonly confirmedAt: number | null
  /** The last time step a code was accepted for (no code works twice, RFC 6238 §5.2). */
  readonly lastTimeStep: number | null
}

/** A sign-in past its first factor, waiting for the second; or a session stepping up. */
export interface PendingLogin {
  readonly idHash: string
  readonly userId: string
  readonly amr: readonly AuthenticationMethod[]
  readonly interactionId: string | null
  readonly sessionIdHash: string | null
  readonly expiresAt: number
  /** The class the sign-in must reach (a step-up for an acr, RFC 9470); null: any second factor will do. */
  readonly requiredAcr: Acr | null
}
