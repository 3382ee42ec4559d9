import type { Selectable } from 'kysely'
import type { Db } from '../connect.js'
import type { DeviceCodesTable } from '../schema.js'
import { grantsRepository } from './grants.js'
import { inLiveSession, sessionSid } from './live-session.js'
import type { Grant, RefreshFamily } from '../../model/grant.js'
import { parseAmr } from '../../model/authentication.js'
import type {
  DeviceApproval,
  DeviceAuthorization,
  DeviceAuthorizationStatus,
  StoredDeviceAuthorization,
} from '../../model/device-authorization.js'

type DeviceCodeRow = Selectable<DeviceCodesTable>

const STATUSES: readonly DeviceAuthorizationStatus[] = ['pending', 'approved', 'denied']

function toAuthorization(row: DeviceCodeRow): StoredDeviceAuthorization {
  // An unknown status in storage is not trusted to mean approval.
  const status = (STATUSES as readonly string[]).includes(row.status) ? (row.status as DeviceAuthorizationStatus) : 'denied'
  const approval: DeviceApproval | null =
    status === 'approved' && row.user_id !== null && row.session_id_hash !== null && row.auth_time !== null
      ? { userId: row.user_id, sessionIdHash: row.session_id_hash, authTime: row.auth_time, amr: parseAmr(row.amr ?? '[]') }
      : null
  return {
    deviceCodeHash: row.device_code_hash,
    userCodeHash: row.user_code_hash,
    clientId: row.client_id,
    scope: row.scope,
    resources: JSON.parse(row.resources) as string[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    interval: row.poll_interval,
    lastPolledAt: row.last_polled_at,
    status: status === 'approved' && approval === null ? 'denied' : status,
    approval,
    decidedAt: row.decided_at,
    consumedAt: row.consumed_at,
    grantId: row.grant_id,
  }
}

/** What a redemption attempt found: the grant it stored, or why there is none. */
export type DeviceRedemption =
  /** `sid`: the public id of the approving session, for the ID token (null: it has none). */
  | { readonly outcome: 'redeemed'; readonly sid: string | null }
  | { readonly outcome: 'replayed'; readonly grantId: string | null }
  | { readonly outcome: 'session_ended' }

export function deviceCodesRepository(db: Db) {
  const grants = grantsRepository(db)
  return {
    /** False when the user code is taken (by a live or a not yet pruned request): draw another. */
    async insert(authorization: DeviceAuthorization): Promise<boolean> {
      const taken = await db
        .selectFrom('device_codes')
        .select('device_code_hash')
        .where('user_code_hash', '=', authorization.userCodeHash)
        .executeTakeFirst()
      if (taken) return false
      try {
        await db
          .insertInto('device_codes')
          .values({
            device_code_hash: authorization.deviceCodeHash,
            user_code_hash: authorization.userCodeHash,
            client_id: authorization.clientId,
            scope: authorization.scope,
            resources: JSON.stringify(authorization.resources),
            created_at: authorization.createdAt,
            expires_at: authorization.expiresAt,
            poll_interval: authorization.interval,
            last_polled_at: null,
            status: 'pending',
            user_id: null,
            session_id_hash: null,
            auth_time: null,
            amr: null,
            decided_at: null,
            consumed_at: null,
            grant_id: null,
          })
          .execute()
        return true
      } catch (error) {
        // Another request took the same user code in between (the unique index said so).
        const raced = await db
          .selectFrom('device_codes')
          .select('device_code_hash')
          .where('user_code_hash', '=', authorization.userCodeHash)
          .executeTakeFirst()
        if (raced) return false
        throw error
      }
    },

    async findByDeviceCode(deviceCodeHash: string): Promise<StoredDeviceAuthorization | undefined> {
      const row = await db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst()
      return row ? toAuthorization(row) : undefined
    },

    async findByUserCode(userCodeHash: string): Promise<StoredDeviceAuthorization | undefined> {
      const row = await db.selectFrom('device_codes').selectAll().where('user_code_hash', '=', userCodeHash).executeTakeFirst()
      return row ? toAuthorization(row) : undefined
    },

    /**
     * The user's answer, once: only a pending, unexpired request changes (two tabs, or a double
     * click, cannot answer twice). False when it was no longer pending.
     */
    async decide(userCodeHash: string, approval: DeviceApproval | null, now: number): Promise<boolean> {
      const result = await db
        .updateTable('device_codes')
        .set(
          approval === null
            ? { status: 'denied', decided_at: now }
            : {
                status: 'approved',
                decided_at: now,
                user_id: approval.userId,
                session_id_hash: approval.sessionIdHash,
                auth_time: approval.authTime,
                amr: JSON.stringify(approval.amr),
              },
        )
        .where('user_code_hash', '=', userCodeHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /**
     * Records a poll of a pending request, compare-and-set on what the caller read: false when
     * another poll came in between (the caller reads again and decides again).
     */
    async recordPoll(seen: StoredDeviceAuthorization, interval: number, now: number): Promise<boolean> {
      const result = await db
        .updateTable('device_codes')
        .set({ last_polled_at: now, poll_interval: interval })
        .where('device_code_hash', '=', seen.deviceCodeHash)
        .where('status', '=', 'pending')
        .where('poll_interval', '=', seen.interval)
        .where('last_polled_at', seen.lastPolledAt === null ? 'is' : '=', seen.lastPolledAt)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /**
     * Consumes an approved request and stores the grant it authorises, atomically: of concurrent
     * polls exactly one wins, and only while the sign-in session that approved is live (a logout
     * voids approvals not yet redeemed, as it does codes).
     */
    async redeem(deviceCodeHash: string, grant: Grant, refresh: RefreshFamily | null, now: number): Promise<DeviceRedemption> {
      return db.transaction().execute(async (trx): Promise<DeviceRedemption> => {
        // The first statement writes: on SQLite the transaction takes the write lock at once.
        const consumed = await trx
          .updateTable('device_codes')
          .set({ consumed_at: now, grant_id: grant.id })
          .where('device_code_hash', '=', deviceCodeHash)
          .where('status', '=', 'approved')
          .where('consumed_at', 'is', null)
          .where((eb) => inLiveSession(eb, 'device_codes', now))
          .executeTakeFirst()
        if (consumed.numUpdatedRows === 1n) {
          await grants.insert(grant, refresh, trx)
          return { outcome: 'redeemed', sid: await sessionSid(trx, grant.sessionIdHash) }
        }
        const row = await trx
          .selectFrom('device_codes')
          .select(['consumed_at', 'grant_id'])
          .where('device_code_hash', '=', deviceCodeHash)
          .executeTakeFirst()
        return row?.consumed_at != null ? { outcome: 'replayed', grantId: row.grant_id } : { outcome: 'session_ended' }
      })
    },
  }
}
