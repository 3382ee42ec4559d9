/**
 * Security events (docs/security.md §H): each one is a structured log line and a row in
 * `audit_events`, listed by `idp audit`, then handed to a listener (event webhooks: one outbox
 * row per subscribed webhook). Recording never fails the caller: a database error is logged instead. Fields are identifiers only — never a password, token, code or secret.
 */
import type { Logger } from 'pino'
import type { Clock } from './clock.js'
import type { AuditEventsRepository } from './db/repositories/audit-events.js'
import { randomId } from './secrets.js'

export type SecurityEventType =
  | 'login_success'
  | 'login_failure'
  | 'throttled'
  | 'code_reuse'
  | 'refresh_reuse'
  | 'revocation'
  | 'key_rotation'
  | 'signup'
  | 'email_verified'
  | 'password_reset_requested'
  | 'password_reset'
  | 'password_changed'
  | 'password_change_failure'
  | 'account_disabled'
  | 'account_enabled'
  | 'roles_changed'
  | 'email_changed'
  | 'factor_added'
  | 'factor_removed'
  | 'factors_reset'
  | 'second_factor_failure'
  | 'passkey_failure'
  | 'cloned_authenticator'
  | 'recovery_code_used'
  | 'recovery_codes_renewed'
  | 'step_up'
  | 'client_updated'
  | 'client_auth_failure'
  | 'logout'
  | 'client_registered'
  | 'client_removed'
  | 'client_metadata_refused'
  | 'backchannel_logout_failed'
  | 'device_approved'
  | 'device_denied'
  | 'user_code_failure'
  | 'token_exchanged'
  | 'federated_login'
  | 'federated_login_failure'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'connection_added'
  | 'connection_removed'
  | 'connection_disabled'
  | 'connection_enabled'
  | 'webhook_added'
  | 'webhook_removed'
  | 'webhook_disabled'
  | 'webhook_enabled'
  | 'webhook_failed'
  | 'client_secret_rotated'
  | 'user_created'
  | 'user_updated'
  | 'user_deleted'
  | 'user_data_exported'
  | 'account_deletion_failure'
  | 'backup_created'
  | 'installation_exported'
  | 'installation_imported'
  | 'api_registered'
  | 'api_removed'

export interface SecurityEventFields {
  readonly userId?: string | null | undefined
  readonly clientId?: string | null | undefined
  readonly ip?: string | undefined
  /** Small extra facts (kind, kid, route…); identifiers only. */
  readonly detail?: Readonly<Record<string, string | number | boolean | readonly string[] | null | undefined>>
}

const WARN: ReadonlySet<SecurityEventType> = new Set([
  'throttled',
  'code_reuse',
  'refresh_reuse',
  'password_reset',
  'password_changed',
  'account_disabled',
  'roles_changed',
  'email_changed',
  'factor_removed',
  'factors_reset',
  'cloned_authenticator',
  'recovery_code_used',
  'backchannel_logout_failed',
  'webhook_failed',
  'client_secret_rotated',
  'user_deleted',
  'installation_exported',
  'installation_imported',
])

/** A security event as recorded, for a listener (webhooks/publisher.ts). */
export interface RecordedSecurityEvent {
  readonly type: SecurityEventType
  readonly fields: SecurityEventFields
  /** `fields.detail` as stored (JSON values only). */
  readonly detail: Readonly<Record<string, unknown>>
  /** Epoch seconds. */
  readonly at: number
}

/** Told of every recorded event after it is stored; must not throw (its failures are its own to log). */
export type SecurityEventListener = (event: RecordedSecurityEvent) => Promise<void>

export class SecurityEvents {
  constructor(
    private readonly repository: AuditEventsRepository,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly listener?: SecurityEventListener,
  ) {}

  async record(type: SecurityEventType, fields: SecurityEventFields = {}, message: string = type.replace(/_/g, ' ')): Promise<void> {
    const detail = JSON.parse(JSON.stringify(fields.detail ?? {})) as Record<string, unknown>
    const line = { event: type, userId: fields.userId ?? undefined, clientId: fields.clientId ?? undefined, ip: fields.ip, ...detail }
    if (WARN.has(type)) this.log.warn(line, message)
    else this.log.info(line, message)
    const at = this.clock.now()
    try {
      await this.repository.insert({
        id: randomId(),
        at,
        type,
        userId: fields.userId ?? null,
        clientId: fields.clientId?.slice(0, 200) ?? null,
        ip: fields.ip ?? null,
        detail,
      })
    } catch (error) {
      this.log.error(
        { event: 'audit_write_failed', type, reason: error instanceof Error ? error.message : String(error) },
        'could not store a security event',
      )
    }
    try {
      await this.listener?.({ type, fields, detail, at })
    } catch (error) {
      this.log.error(
        { event: 'audit_listener_failed', type, reason: error instanceof Error ? error.message : String(error) },
        'a security event listener failed',
      )
    }
  }
}
