import type { AuthenticationMethod } from './authentication.js'

/** Where a device authorization stands (RFC 8628 §3.3–3.5): waiting for the user, or decided. */
export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied'

/** A device authorization request as issued (RFC 8628 §3.2): only hashes of both codes are kept. */
export interface DeviceAuthorization {
  readonly deviceCodeHash: string
  readonly userCodeHash: string
  readonly clientId: string
  readonly scope: string
  /** RFC 8707: the APIs the authorization names (empty: Tessera's own audience). */
  readonly resources: readonly string[]
  readonly createdAt: number
  readonly expiresAt: number
  /** Seconds the device must wait between polls; slow_down adds 5 (RFC 8628 §3.5). */
  readonly interval: number
}

/** Who approved, from the browser session that did (what the grant and its ID tokens say). */
export interface DeviceApproval {
  readonly userId: string
  readonly sessionIdHash: string
  readonly authTime: number
  readonly amr: readonly AuthenticationMethod[]
}

export interface StoredDeviceAuthorization extends DeviceAuthorization {
  readonly status: DeviceAuthorizationStatus
  readonly lastPolledAt: number | null
  /** Set once approved. */
  readonly approval: DeviceApproval | null
  readonly decidedAt: number | null
  readonly consumedAt: number | null
  readonly grantId: string | null
}
