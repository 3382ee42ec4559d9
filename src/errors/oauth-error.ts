/**
 * Typed OAuth 2.0 / OpenID Connect errors. Callers branch on `error`; `description` is safe to
 * show to clients; `cause` and `detail` are for logs only.
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_request_object'
  | 'unmet_authentication_requirements'
  | 'invalid_target'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_request_uri'

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  unsupported_response_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_request_object: 400,
  unmet_authentication_requirements: 400,
  invalid_target: 400,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  // RFC 8628 §3.5: errors of a device polling the token endpoint.
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  // RFC 9449 §5, §8: a token request's DPoP proof is wrong, or lacks the server's nonce.
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  // RFC 9126 §4 (RFC 9101 §6.2): a request_uri that is unknown, used or expired.
  invalid_request_uri: 400,
}

export interface OAuthErrorOptions {
  /** Log-only detail: never sent to the client. */
  readonly detail?: string
  readonly cause?: unknown
  readonly status?: number
  /** With status 429 (or 503): sent as Retry-After. */
  readonly retryAfterSeconds?: number
  /** RFC 9449 §8: a fresh server nonce, sent as DPoP-Nonce. */
  readonly dpopNonce?: string
  /** A resource endpoint's challenge (RFC 6750 §3, RFC 9449 §7.1): `Bearer` unless the token or request used DPoP. */
  readonly challenge?: 'Bearer' | 'DPoP'
  /**
   * At a resource endpoint, the request carried no access token (or one in a scheme we do not take):
   * RFC 6750 §3.1 says to answer with the challenges alone, without an error code.
   */
  readonly unauthenticated?: boolean
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly status: number
  readonly description: string
  readonly detail: string | undefined
  readonly retryAfterSeconds: number | undefined
  readonly dpopNonce: string | undefined
  readonly challenge: 'Bearer' | 'DPoP'
  readonly unauthenticated: boolean

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(`${error}: ${description.slice(0, 300)}`, { cause: options.cause })
    this.name = 'OAuthError'
    this.error = error
    // RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E; request input
    // echoed into a description must not smuggle other characters to the client.
    this.description = description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?').slice(0, 300)
    this.status = options.status ?? STATUS[error]
    this.detail = options.detail
    this.retryAfterSeconds = options.retryAfterSeconds
    this.dpopNonce = options.dpopNonce
    this.challenge = options.challenge ?? 'Bearer'
    this.unauthenticated = options.unauthenticated === true
  }
}

/**
 * Errors at /authorize before the client and redirect_uri are known good: they are shown on an
 * HTML page and never redirected (docs/security.md §A, open-redirect prevention).
 */
export class UnsafeAuthorizeError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${error}: ${description}`)
    this.name = 'UnsafeAuthorizeError'
  }
}

/** A 4xx page for browser-facing routes (bad form post, expired login page, …). */
export class PageError extends Error {
  /** `key`: the page's words, `<key>.title` and `<key>.description` in the `errors` catalogue. */
  constructor(
    readonly status: number,
    readonly key: string,
    readonly values: Readonly<Record<string, string | number>> = {},
    /** Protocol text for the client's developer, shown under a closed disclosure. */
    readonly detail?: string,
  ) {
    super(key)
    this.name = 'PageError'
  }
}
