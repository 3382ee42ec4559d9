import type { Selectable } from 'kysely'

/** Epoch seconds everywhere; JSON kept as text so SQLite and PostgreSQL share one schema. */
export interface UsersTable {
  id: string
  email: string
  name: string | null
  password_hash: string
  email_verified: number
  disabled_at: number | null
  created_at: number
  updated_at: number
  /** JSON array of role names, for resource-server RBAC. */
  roles: string
  /** The language the user chose (i18n/locales.ts); null: not chosen. */
  locale: string | null
}

export interface ClientsTable {
  id: string
  name: string
  secret_hash: string | null
  redirect_uris: string
  post_logout_redirect_uris: string
  grant_types: string
  scopes: string
  pkce_required: number
  first_party: number
  created_at: number
  introspect: number
  /** JSON array: the registered APIs whose access tokens it may introspect (RFC 7662 §4). */
  introspect_apis: string
  /** 1: every sign-in for this client needs a second factor (acr urn:tessera:mfa or better). */
  require_mfa: number
  /** cli, dynamic (RFC 7591) or metadata_document. */
  registration: string
  /** Hash of the RFC 7592 registration access token of a dynamically registered client. */
  registration_token_hash: string | null
  /** JSON object: registration metadata (client_uri, logo_uri, contacts…). */
  metadata: string
  /** Metadata-document clients: when to fetch the document again (epoch seconds). */
  refresh_at: number | null
  /** 1: every token request must carry a DPoP proof (RFC 9449). */
  require_dpop: number
  /** 1: authorization requests only through /par (RFC 9126). */
  require_par: number
  /** OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed; null: none. */
  backchannel_logout_uri: string | null
  /** 1: the client asked for `sid` in logout tokens (Tessera always sends it). */
  backchannel_logout_session_required: number
  /** The hash of the secret before the last rotation: still accepted until previous_secret_expires_at. */
  previous_secret_hash: string | null
  /** When the previous secret stops working (epoch seconds); null with previous_secret_hash. */
  previous_secret_expires_at: number | null
}

export interface SessionsTable {
  id_hash: string
  user_id: string
  auth_time: number
  created_at: number
  last_seen_at: number
  expires_at: number
  ended_at: number | null
  /** Random public reference used by the account page (never the cookie or its hash). */
  handle: string | null
  user_agent: string | null
  /** JSON array of RFC 8176 authentication method references: how this session was authenticated. */
  amr: string
  /**
   * Public session id (`sid` in ID and logout tokens), random, never the cookie or its hash; a
   * same-user renewal keeps it. '' for sessions that had ended before the column existed.
   */
  sid: string
}

/** Single-use tokens sent by mail; only their hash is stored. */
export interface AccountTokensTable {
  token_hash: string
  user_id: string
  purpose: 'verify_email' | 'reset_password'
  created_at: number
  expires_at: number
  used_at: number | null
}

export interface InteractionsTable {
  id: string
  client_id: string
  request: string
  created_at: number
  expires_at: number
  /** Set once a session has satisfied the request's authentication needs (consent stage). */
  session_id_hash: string | null
}

export interface GrantsTable {
  id: string
  user_id: string
  client_id: string
  session_id_hash: string | null
  scope: string
  auth_time: number
  created_at: number
  revoked_at: number | null
  /** 1 when the grant includes offline_access: it outlives its login session's expiry (not a logout). */
  offline: number
  /** Absolute end of the refresh-token family; null when the grant has no refresh tokens. */
  expires_at: number | null
  /** JSON array: how the user authenticated for this grant (kept by refreshed tokens). */
  amr: string
  /** JSON array of RFC 8707 resource indicators the grant covers. */
  resources: string
  /** A public client's refresh tokens are bound to this DPoP key (RFC 9449 §5); null: not bound. */
  dpop_jkt: string | null
  /** The acr its tokens carry (a requested value the session met); null: the one amr achieves. */
  acr: string | null
  /**
   * The generation of the family's current refresh token (tokens/refresh.ts): a token of an earlier
   * one is reuse. Null: no refresh token of that kind (none at all, or one in refresh_tokens).
   */
  refresh_generation: number | null
  /** When the current refresh token was issued, and when it expires unused (REFRESH_TOKEN_IDLE_TTL). */
  refresh_issued_at: number | null
  refresh_idle_expires_at: number | null
}

/** Refresh tokens issued before generations: one row each, kept until they expire. */
export interface RefreshTokensTable {
  token_hash: string
  grant_id: string
  client_id: string
  created_at: number
  idle_expires_at: number
  /** Set when the token is rotated: presenting it again is reuse. */
  used_at: number | null
}

export interface ConsentsTable {
  user_id: string
  client_id: string
  scope: string
  created_at: number
  updated_at: number
}

export interface AuthorizationCodesTable {
  code_hash: string
  client_id: string
  user_id: string
  session_id_hash: string
  redirect_uri: string
  scope: string
  nonce: string | null
  code_challenge: string | null
  auth_time: number
  created_at: number
  expires_at: number
  consumed_at: number | null
  grant_id: string | null
  /** JSON array: the session's amr when the code was issued. */
  amr: string
  /** JSON array of RFC 8707 resource indicators. */
  resources: string
  /** RFC 9449 §10: dpop_jkt of the authorization request; the code is redeemed only with that key. */
  dpop_jkt: string | null
  /** The acr its tokens carry (a requested value the session met); null: the one amr achieves. */
  acr: string | null
}

export interface AccessTokensTable {
  jti: string
  grant_id: string | null
  client_id: string
  kid: string
  expires_at: number
  revoked_at: number | null
}

/** Access tokens revoked on their own (RFC 7009) before they expire (model/access-token-id.ts). */
export interface RevokedAccessTokensTable {
  jti: string
  expires_at: number
}

export interface SigningKeysTable {
  kid: string
  alg: string
  state: 'next' | 'active' | 'retired' | 'revoked' | 'archived'
  public_jwk: string
  private_key: string
  created_at: number
  activated_at: number | null
  retired_at: number | null
  retires_at: number | null
}

export interface KeyStoreStateTable {
  id: number
  generation: number
  rotated_at: number
}

/** Security events (login, throttling, replay, revocation, rotation, resets); detail is JSON. */
export interface AuditEventsTable {
  id: string
  at: number
  type: string
  user_id: string | null
  client_id: string | null
  ip: string | null
  detail: string
}

/** Failure counts per throttling key (an email, an IP, a client), shared by every instance. */
export interface ThrottleCountersTable {
  key: string
  failures: number
  window_started_at: number
  blocked_until: number | null
  /** How many times the key was blocked in a row: each block lasts longer. */
  strikes: number
}

/** A passkey: the public half of a WebAuthn credential, its signature counter and flags. */
export interface WebauthnCredentialsTable {
  /** The credential ID, base64url. */
  id: string
  user_id: string
  name: string
  /** COSE public key, base64url. */
  public_key: string
  counter: number
  /** JSON array of transports the authenticator reported (usb, nfc, ble, internal, hybrid). */
  transports: string
  /** singleDevice (device-bound) or multiDevice (synced). */
  device_type: string
  backed_up: number
  aaguid: string
  created_at: number
  last_used_at: number | null
}

/** An authenticator-app secret (RFC 6238), sealed under the key-encryption key. */
export interface TotpFactorsTable {
  user_id: string
  secret: string
  created_at: number
  /** Null while the user has not yet entered a first code. */
  confirmed_at: number | null
  /** The last time step a code was accepted for: no code is accepted twice. */
  last_time_step: number | null
}

export interface RecoveryCodesTable {
  code_hash: string
  user_id: string
  created_at: number
  used_at: number | null
}

/** WebAuthn challenges we issued: single use, short-lived, shared by every instance. */
export interface WebauthnChallengesTable {
  challenge: string
  purpose: 'register' | 'authenticate'
  /** The user a registration is for; null for sign-in, where the credential names the user. */
  user_id: string | null
  created_at: number
  expires_at: number
  used_at: number | null
}

/** A sign-in that passed its first factor and waits for the second (or a session stepping up). */
export interface PendingLoginsTable {
  id_hash: string
  user_id: string
  amr: string
  interaction_id: string | null
  /** Set when an existing session steps up rather than a new sign-in. */
  session_id_hash: string | null
  created_at: number
  expires_at: number
  /** The acr the step-up must reach (only factors reaching it are offered); null: any second factor. */
  required_acr: string | null
}

/** Registered APIs (resource servers); scopes as a JSON array of { name, description }. */
export interface ApisTable {
  identifier: string
  name: string
  scopes: string
  access_token_ttl: number | null
  first_party_only: number
  created_at: number
}

/** Which operator-registered client may ask for which API. */
export interface ClientApisTable {
  client_id: string
  api: string
}

/** Initial access tokens for RFC 7591 registration (REGISTRATION=token); only hashes stored. */
export interface RegistrationTokensTable {
  token_hash: string
  created_at: number
  expires_at: number | null
  max_uses: number | null
  uses: number
}

export interface DpopProofsTable {
  jti_hash: string
  expires_at: number
}

export interface PushedRequestsTable {
  request_uri_hash: string
  client_id: string
  /** JSON object: the pushed authorization request's parameters. */
  params: string
  expires_at: number
}

/** RFC 8628 device authorization requests; only the hashes of the device code and the user code. */
export interface DeviceCodesTable {
  device_code_hash: string
  user_code_hash: string
  client_id: string
  scope: string
  /** JSON array of RFC 8707 resource indicators. */
  resources: string
  created_at: number
  expires_at: number
  /** Seconds between polls; slow_down adds 5. */
  poll_interval: number
  last_polled_at: number | null
  /** pending, approved or denied. */
  status: string
  /** Set by the approval: who, from which session, how authenticated (JSON amr). */
  user_id: string | null
  session_id_hash: string | null
  auth_time: number | null
  amr: string | null
  decided_at: number | null
  /** Set when the device received its tokens: the grant they belong to. */
  consumed_at: number | null
  grant_id: string | null
}

export interface ClientAssertionsTable {
  jti_hash: string
  expires_at: number
}

/** An upstream identity provider users may sign in with (OpenID Connect, or plain OAuth 2.0). */
export interface ConnectionsTable {
  /** A slug of the name; part of the callback URL registered at the upstream. */
  id: string
  name: string
  type: 'oidc' | 'oauth2'
  issuer: string
  client_id: string
  /** Sealed under a key derived from the KEK; null for a public client. */
  client_secret: string | null
  /** JSON array of scopes asked of the upstream. */
  scopes: string
  /** JSON array of email domains sent straight to this connection (home-realm discovery). */
  domains: string
  /** 1: the upstream's verified email is trusted as verified here. */
  trust_email: number
  /** 1: the upstream's tokens are kept (sealed) with the linked identity. */
  store_tokens: number
  /** JSON: the upstream's endpoints (discovered for OIDC, given for oauth2). */
  server_metadata: string
  /** JSON object: local claim → field of the upstream's user document (oauth2 only). */
  claim_mapping: string
  disabled_at: number | null
  created_at: number
}

/** An upstream account linked to a local one: matched by (connection, subject), never by email. */
export interface FederatedIdentitiesTable {
  id: string
  connection_id: string
  subject: string
  user_id: string
  /** The upstream's email when linked, for the account page only (it never decides who signs in). */
  email: string | null
  /** Sealed JSON of the upstream's tokens, only when the connection keeps them. */
  tokens: string | null
  created_at: number
  last_used_at: number | null
}

/** A sign-in in progress at an upstream: found by the hash of a browser cookie, single use. */
export interface UpstreamLoginsTable {
  id_hash: string
  connection_id: string
  state: string
  nonce: string
  code_verifier: string
  interaction_id: string | null
  /** Set when a signed-in user links this upstream from the account page. */
  link_user_id: string | null
  created_at: number
  expires_at: number
  used_at: number | null
}

/** An upstream identity waiting for the user to prove control of the local account it would join. */
export interface PendingLinksTable {
  id_hash: string
  connection_id: string
  subject: string
  email: string
  tokens: string | null
  amr: string
  interaction_id: string | null
  created_at: number
  expires_at: number
  used_at: number | null
}

/**
 * Work done after the request that caused it, by whichever instance claims it first: one row per
 * job, `kind` naming its handler (back-channel logout tokens first). Pending while delivered_at and
 * failed_at are null; claimed while locked_until is in the future, by the holder of lock_token.
 */
export interface OutboxTable {
  id: string
  kind: string
  /** JSON: what the handler needs to do the job (identifiers only, never a token or secret). */
  payload: string
  /** Claims so far (each claim is one attempt, a crash included). */
  attempts: number
  next_attempt_at: number
  locked_until: number | null
  lock_token: string | null
  created_at: number
  /** Why the last attempt failed (a status or a connection error; never a token). */
  last_error: string | null
  delivered_at: number | null
  /** Set when the job was given up: too many attempts, or nothing left to deliver to. */
  failed_at: number | null
}

/** Event webhooks (Standard Webhooks): each delivery is an outbox row of kind `webhook`. */
export interface WebhooksTable {
  id: string
  url: string
  /** JSON array: event types (`user.created`), categories (`user.*`) or `*`. */
  events: string
  /** The signing secret sealed under a key derived from the KEK (keys/envelope.ts), never in clear. */
  secret: string
  disabled_at: number | null
  created_at: number
}

/**
 * Admin API requests sent with an `Idempotency-Key`, per actor, for a day: the request's hash and,
 * once it completed, its status and response (sealed under a key derived from the KEK).
 */
export interface IdempotencyKeysTable {
  actor: string
  key: string
  request_hash: string
  /** Null while the first request with this key is still running. */
  status: number | null
  response: string | null
  created_at: number
  expires_at: number
}

/** A client's logo as fetched from its logo_uri (clients/client-logo.ts); body null: the fetch failed. */
export interface ClientLogosTable {
  client_id: string
  source_uri: string
  content_type: string | null
  body: string | null
  digest: string | null
  fetched_at: number
}

export interface Database {
  client_logos: ClientLogosTable
  users: UsersTable
  clients: ClientsTable
  sessions: SessionsTable
  interactions: InteractionsTable
  grants: GrantsTable
  authorization_codes: AuthorizationCodesTable
  access_tokens: AccessTokensTable
  revoked_access_tokens: RevokedAccessTokensTable
  refresh_tokens: RefreshTokensTable
  consents: ConsentsTable
  signing_keys: SigningKeysTable
  key_store_state: KeyStoreStateTable
  account_tokens: AccountTokensTable
  audit_events: AuditEventsTable
  throttle_counters: ThrottleCountersTable
  webauthn_credentials: WebauthnCredentialsTable
  totp_factors: TotpFactorsTable
  recovery_codes: RecoveryCodesTable
  webauthn_challenges: WebauthnChallengesTable
  pending_logins: PendingLoginsTable
  apis: ApisTable
  client_apis: ClientApisTable
  registration_tokens: RegistrationTokensTable
  device_codes: DeviceCodesTable
  client_assertions: ClientAssertionsTable
  dpop_proofs: DpopProofsTable
  pushed_requests: PushedRequestsTable
  outbox: OutboxTable
  connections: ConnectionsTable
  federated_identities: FederatedIdentitiesTable
  upstream_logins: UpstreamLoginsTable
  pending_links: PendingLinksTable
  idempotency_keys: IdempotencyKeysTable
  webhooks: WebhooksTable
}

export type UserRow = Selectable<UsersTable>
export type ClientRow = Selectable<ClientsTable>
export type SessionRow = Selectable<SessionsTable>
export type CodeRow = Selectable<AuthorizationCodesTable>
export type GrantRow = Selectable<GrantsTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
