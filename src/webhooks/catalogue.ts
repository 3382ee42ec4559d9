/**
 * The events webhooks carry: a small catalogue of dotted names, each mapped from the security
 * events every part of Tessera already records (audit.ts). Pure. The payload holds what the audit
 * log holds — identifiers only, never a password, token, code or secret — in the Standard Webhooks
 * shape `{type, timestamp, data}`. Failed webhook deliveries are audited but never become events
 * themselves (a failing receiver must not feed itself).
 */
import type { SecurityEventFields, SecurityEventType } from '../audit.js'

/** Every event type, with what it means (the README's catalogue and `idp webhooks add --help`). */
export const WEBHOOK_EVENTS = {
  'user.created': 'an account was created (signup, a first sign-in through a connection, or by an operator)',
  'user.updated': 'an operator changed the name or the sign-in address',
  'user.deleted': 'an operator deleted the account with its data',
  'user.email_verified': 'an email address was verified with the mailed link',
  'user.email_changed': 'an operator changed the sign-in address',
  'user.password_changed': 'the password was changed on the account page',
  'user.password_reset': 'the password was reset with a mailed link',
  'user.disabled': 'the account was disabled',
  'user.enabled': 'the account was enabled again',
  'user.roles_changed': 'the roles were replaced',
  'user.factor_added': 'a passkey or an authenticator app was added',
  'user.factor_removed': 'a passkey or an authenticator app was removed',
  'user.factors_reset': 'an operator removed every second factor',
  'user.recovery_code_used': 'a recovery code was used to sign in',
  'user.identity_linked': 'an upstream identity (connection) was linked',
  'user.identity_unlinked': 'an upstream identity was unlinked',
  'login.succeeded': 'a sign-in succeeded (password, passkey or connection)',
  'login.failed': 'a sign-in failed (password, second factor or connection)',
  'session.ended': 'a login session ended (logout, signed out elsewhere, another user signed in)',
  'client.registered': 'a client was registered (by an operator, or by itself through RFC 7591)',
  'client.updated': 'a client’s settings or policies were changed',
  'client.secret_rotated': 'a client got a new secret (the previous one works for the overlap)',
  'client.removed': 'a client was deleted',
  'key.rotated': 'a signing key was rotated or revoked',
  'security.throttled': 'requests were refused after repeated failures or a flood',
  'security.token_reused': 'a used authorization code or rotated refresh token came back (its grant is revoked)',
  'security.cloned_authenticator': 'a passkey’s signature counter went backwards',
} as const

export type WebhookEventType = keyof typeof WEBHOOK_EVENTS

export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as readonly WebhookEventType[]

/** Security events that are webhook events as they are. */
const DIRECT: Partial<Readonly<Record<SecurityEventType, WebhookEventType>>> = {
  user_created: 'user.created',
  user_updated: 'user.updated',
  user_deleted: 'user.deleted',
  email_verified: 'user.email_verified',
  email_changed: 'user.email_changed',
  password_changed: 'user.password_changed',
  password_reset: 'user.password_reset',
  account_disabled: 'user.disabled',
  account_enabled: 'user.enabled',
  roles_changed: 'user.roles_changed',
  factor_added: 'user.factor_added',
  factor_removed: 'user.factor_removed',
  factors_reset: 'user.factors_reset',
  recovery_code_used: 'user.recovery_code_used',
  identity_linked: 'user.identity_linked',
  identity_unlinked: 'user.identity_unlinked',
  login_success: 'login.succeeded',
  federated_login: 'login.succeeded',
  login_failure: 'login.failed',
  federated_login_failure: 'login.failed',
  second_factor_failure: 'login.failed',
  logout: 'session.ended',
  client_registered: 'client.registered',
  client_updated: 'client.updated',
  client_secret_rotated: 'client.secret_rotated',
  client_removed: 'client.removed',
  key_rotation: 'key.rotated',
  throttled: 'security.throttled',
  code_reuse: 'security.token_reused',
  refresh_reuse: 'security.token_reused',
  cloned_authenticator: 'security.cloned_authenticator',
}

/** The webhook event a security event is, if any. */
export function webhookEventType(type: SecurityEventType, fields: SecurityEventFields): WebhookEventType | null {
  // A signup for an address that already has an account creates nothing (and names no user).
  if (type === 'signup') return fields.userId ? 'user.created' : null
  // A session ended for another reason than a logout (signed out from the account page, another
  // user signed in) is recorded as a revocation of kind `session`; other revocations are not events.
  if (type === 'revocation') return fields.detail?.['kind'] === 'session' ? 'session.ended' : null
  return DIRECT[type] ?? null
}

/** What a receiver gets: the Standard Webhooks payload shape. */
export interface WebhookEvent {
  readonly type: WebhookEventType
  /** When the event happened (ISO 8601, UTC). */
  readonly timestamp: string
  readonly data: {
    /** The security event it comes from, as `idp audit --type` names it. */
    readonly audit_type: SecurityEventType
    readonly user_id: string | null
    readonly client_id: string | null
    readonly ip: string | null
    /** The security event's own facts (identifiers only), as `idp audit --json` shows them. */
    readonly detail: Readonly<Record<string, unknown>>
  }
}

/** The webhook event for a security event recorded at `at` (epoch seconds), or null when it is none. */
export function webhookEvent(
  type: SecurityEventType,
  fields: SecurityEventFields,
  detail: Readonly<Record<string, unknown>>,
  at: number,
): WebhookEvent | null {
  const eventType = webhookEventType(type, fields)
  if (eventType === null) return null
  return {
    type: eventType,
    timestamp: new Date(at * 1000).toISOString(),
    data: {
      audit_type: type,
      user_id: fields.userId ?? null,
      client_id: fields.clientId ?? null,
      ip: fields.ip ?? null,
      detail,
    },
  }
}
