/**
 * A user's data as one JSON document (GDPR Art. 15 and 20: access and portability), whichever
 * surface asks (`idp users export`, the admin API, later the account page): profile, roles,
 * second factors (what and when, never a key, secret or hash), sessions, applications and their
 * grants, linked upstream identities and recent security events. Built from an allow-list of
 * fields: nothing is copied from a row wholesale, so a column added later never leaks into it.
 */
import { actorLabel, type Actor } from '../model/actor.js'
import type { AccountLifecycleDeps } from './lifecycle.js'
import { UnknownUser } from './lifecycle.js'

export const USER_EXPORT_FORMAT = 'tessera-user-data'
export const USER_EXPORT_VERSION = 1 as const

/** How many security events, newest first, the export carries (the audit log keeps AUDIT_RETENTION). */
const AUDIT_EVENTS = 500

const iso = (seconds: number | null): string | null => (seconds === null ? null : new Date(seconds * 1000).toISOString())

type Iso = string | null

/** The document: every member listed, so nothing reaches it unnamed. Times are ISO 8601 (UTC). */
export interface UserDataExport {
  readonly format: typeof USER_EXPORT_FORMAT
  readonly version: typeof USER_EXPORT_VERSION
  readonly issuer: string
  readonly exported_at: Iso
  readonly profile: {
    readonly sub: string
    readonly email: string
    readonly email_verified: boolean
    readonly name: string | null
    readonly roles: readonly string[]
    readonly created_at: Iso
    readonly disabled_at: Iso
    readonly has_password: boolean
    /** The language the user chose for pages (i18n/locales.ts); null: the browser's. */
    readonly locale: string | null
  }
  readonly second_factors: {
    readonly passkeys: readonly { name: string; device_type: string; backed_up: boolean; created_at: Iso; last_used_at: Iso }[]
    readonly authenticator_app: { created_at: Iso; confirmed_at: Iso } | null
    readonly recovery_codes_left: number
  }
  readonly sessions: readonly {
    created_at: Iso
    last_seen_at: Iso
    expires_at: Iso
    ended_at: Iso
    live: boolean
    user_agent: string | null
    amr: readonly string[]
  }[]
  readonly consents: readonly { client_id: string; client_name: string; scope: string; updated_at: Iso }[]
  readonly grants: readonly {
    client_id: string
    client_name: string | null
    scope: string
    offline_access: boolean
    created_at: Iso
    revoked_at: Iso
  }[]
  readonly linked_identities: readonly {
    connection_id: string
    connection_name: string | null
    subject: string
    email: string | null
    created_at: Iso
    last_used_at: Iso
  }[]
  readonly security_events: readonly {
    at: Iso
    type: string
    client_id: string | null
    ip: string | null
    detail: Readonly<Record<string, unknown>>
  }[]
}

/** Builds the export; audited as user_data_exported. Throws UnknownUser. */
export async function exportUserData(
  deps: Pick<AccountLifecycleDeps, 'repos' | 'clock' | 'audit' | 'config'>,
  userId: string,
  actor: Actor,
): Promise<UserDataExport> {
  const user = await deps.repos.users.findById(userId)
  if (!user) throw new UnknownUser(userId)
  const { repos } = deps
  const [passkeys, totp, unusedCodes, sessions, applications, grants, identities, connections, events] = await Promise.all([
    repos.passkeys.listForUser(user.id),
    repos.totp.find(user.id),
    repos.recoveryCodes.countUnused(user.id),
    repos.accountData.sessionsOf(user.id),
    repos.consents.listApplicationsForUser(user.id),
    repos.accountData.grantsOf(user.id),
    repos.federatedIdentities.listForUser(user.id),
    repos.connections.list(),
    repos.auditEvents.list({ userId: user.id, limit: AUDIT_EVENTS }),
  ])
  const connectionName = new Map(connections.map((connection) => [connection.id, connection.name]))
  const now = deps.clock.now()
  const document: UserDataExport = {
    format: USER_EXPORT_FORMAT,
    version: USER_EXPORT_VERSION,
    issuer: deps.config.issuer,
    exported_at: iso(now),
    profile: {
      sub: user.id,
      email: user.email,
      email_verified: user.emailVerified,
      name: user.name,
      roles: user.roles,
      created_at: iso(user.createdAt),
      disabled_at: iso(user.disabledAt),
      has_password: user.passwordHash !== '',
      locale: user.locale,
    },
    second_factors: {
      passkeys: passkeys.map((passkey) => ({
        name: passkey.name,
        device_type: passkey.deviceType,
        backed_up: passkey.backedUp,
        created_at: iso(passkey.createdAt),
        last_used_at: iso(passkey.lastUsedAt),
      })),
      authenticator_app: totp?.confirmedAt != null ? { created_at: iso(totp.createdAt), confirmed_at: iso(totp.confirmedAt) } : null,
      recovery_codes_left: unusedCodes,
    },
    sessions: sessions.map((session) => ({
      created_at: iso(session.createdAt),
      last_seen_at: iso(session.lastSeenAt),
      expires_at: iso(session.expiresAt),
      ended_at: iso(session.endedAt),
      live: session.endedAt === null && session.expiresAt > now,
      user_agent: session.userAgent,
      amr: session.amr,
    })),
    consents: applications.map((application) => ({
      client_id: application.clientId,
      client_name: application.clientName,
      scope: application.scope,
      updated_at: iso(application.updatedAt),
    })),
    grants: grants.map((grant) => ({
      client_id: grant.clientId,
      client_name: grant.clientName,
      scope: grant.scope,
      offline_access: grant.offline,
      created_at: iso(grant.createdAt),
      revoked_at: iso(grant.revokedAt),
    })),
    linked_identities: identities.map((identity) => ({
      connection_id: identity.connectionId,
      connection_name: connectionName.get(identity.connectionId) ?? null,
      subject: identity.subject,
      email: identity.email,
      created_at: iso(identity.createdAt),
      last_used_at: iso(identity.lastUsedAt),
    })),
    security_events: events.map((event) => ({
      at: iso(event.at),
      type: event.type,
      client_id: event.clientId,
      ip: event.ip,
      detail: event.detail,
    })),
  }
  await deps.audit.record('user_data_exported', { userId: user.id, detail: { actor: actorLabel(actor) } }, 'user data exported')
  return document
}
