import type { AuthorizationRequest } from './authorization-request.js'

/** A validated authorization request parked while the user signs in or consents. */
export interface Interaction {
  readonly id: string
  readonly request: AuthorizationRequest
  readonly expiresAt: number
  /** The session that authenticated this request; null while a login is still owed. */
  readonly sessionIdHash: string | null
}
