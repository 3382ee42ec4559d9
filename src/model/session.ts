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
}
