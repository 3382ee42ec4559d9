import type { AuthenticationMethod } from './authentication.js'

/** A server-side login session; the browser's cookie holds the random id, storage only its hash. */
export interface LoginSession {
  readonly idHash: string
  readonly userId: string
  readonly authTime: number
  readonly createdAt: number
  readonly lastSeenAt: number
  readonly expiresAt: number
  /** Public reference shown on the account page; null for sessions older than the column. */
  readonly handle: string | null
  readonly userAgent: string | null
  /** How the user authenticated (RFC 8176); what the session's tokens say in `amr` and `acr`. */
  readonly amr: readonly AuthenticationMethod[]
  /**
   * The public session id: `sid` in ID tokens and logout tokens (OpenID Connect Back-Channel
   * Logout 1.0 §2.1). Random, never derived from the cookie; a same-user renewal keeps it.
   */
  readonly sid: string
}

/** A session that has just ended: who it was, and the sid relying parties know it by. */
export interface EndedSession {
  readonly idHash: string
  readonly userId: string
  readonly sid: string
}

/** A client that received tokens in a session, with a back-channel logout URI to tell. */
export interface SessionClient {
  readonly sessionIdHash: string
  readonly clientId: string
}
