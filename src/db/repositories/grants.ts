import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import type { SelectQueryBuilder } from 'kysely'
import type { Database, GrantRow } from '../schema.js'
import type { Grant, RefreshFamily, StoredGrant } from '../../model/grant.js'
import { parseAmr } from '../../model/authentication.js'
import { parseAcr } from '../../model/acr.js'

const toGrant = (row: GrantRow): Grant => ({
  id: row.id,
  userId: row.user_id,
  clientId: row.client_id,
  sessionIdHash: row.session_id_hash,
  scope: row.scope,
  authTime: row.auth_time,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  offline: row.offline === 1,
  expiresAt: row.expires_at,
  amr: parseAmr(row.amr),
  resources: JSON.parse(row.resources) as string[],
  dpopJkt: row.dpop_jkt,
  acr: parseAcr(row.acr),
})

/** The grant columns that hold its refresh-token family (all null: it has none of the generation kind). */
function refreshFamilyColumns(family: RefreshFamily | null) {
  return {
    refresh_generation: family?.generation ?? null,
    refresh_issued_at: family?.issuedAt ?? null,
    refresh_idle_expires_at: family?.idleExpiresAt ?? null,
  }
}

function refreshFamilyOf(row: GrantRow): RefreshFamily | null {
  const { refresh_generation: generation, refresh_issued_at: issuedAt, refresh_idle_expires_at: idleExpiresAt } = row
  return generation === null || issuedAt === null || idleExpiresAt === null ? null : { generation, issuedAt, idleExpiresAt }
}

const GRANT_COLUMNS = [
  'id',
  'user_id',
  'client_id',
  'session_id_hash',
  'scope',
  'auth_time',
  'created_at',
  'revoked_at',
  'offline',
  'expires_at',
  'amr',
  'resources',
  'dpop_jkt',
  'acr',
  'refresh_generation',
  'refresh_issued_at',
  'refresh_idle_expires_at',
] as const satisfies readonly (keyof GrantRow)[]

/** A type literal, not the RefreshFamily interface: compileOnce takes records. */
type AdvanceArgs = { generation: number; issuedAt: number; idleExpiresAt: number; id: string; from: number }

type GrantQuery = SelectQueryBuilder<Database, 'grants', { id: string }>
export type GrantFilter = (query: GrantQuery) => GrantQuery

/**
 * Revokes the matching grants with their access tokens (their refresh tokens die with the grant),
 * inside the caller's transaction. The first statement writes, so on SQLite shared by several
 * processes the transaction takes the write lock at once (waiting for it) instead of failing to
 * upgrade a read snapshot.
 */
export async function revokeGrantsIn(trx: Db, now: number, filter: GrantFilter): Promise<void> {
  const revoked = await trx
    .updateTable('grants')
    .set({ revoked_at: now })
    .where('id', 'in', filter(trx.selectFrom('grants').select('id')).where('revoked_at', 'is', null))
    .returning('id')
    .execute()
  const ids = revoked.map((row) => row.id)
  if (ids.length === 0) return
  await trx.updateTable('access_tokens').set({ revoked_at: now }).where('grant_id', 'in', ids).where('revoked_at', 'is', null).execute()
}

/** Revokes the matching grants, their access tokens and their refresh-token families together. */
async function revokeWhere(db: Db, now: number, filter: GrantFilter): Promise<void> {
  await db.transaction().execute((trx) => revokeGrantsIn(trx, now, filter))
}

export function grantsRepository(db: Db) {
  // Every code exchange writes a grant and every refresh advances one: compiled once (compile-once.ts).
  const insertGrant = compileOnce(db, GRANT_COLUMNS, (db, values: GrantRow) => db.insertInto('grants').values(values))
  const advance = compileOnce(db, ['generation', 'issuedAt', 'idleExpiresAt', 'id', 'from'], (db, args: AdvanceArgs) =>
    db
      .updateTable('grants')
      .set(refreshFamilyColumns(args))
      .where('id', '=', args.id)
      .where('refresh_generation', '=', args.from)
      .where('revoked_at', 'is', null),
  )
  return {
    /**
     * Stores a grant with its refresh-token family when it has one (tokens/refresh.ts); `on`: the
     * caller's transaction (redeeming the code or device approval it comes from).
     */
    async insert(grant: Grant, refresh: RefreshFamily | null = null, on?: Db): Promise<void> {
      await insertGrant(
        {
          id: grant.id,
          user_id: grant.userId,
          client_id: grant.clientId,
          session_id_hash: grant.sessionIdHash,
          scope: grant.scope,
          auth_time: grant.authTime,
          created_at: grant.createdAt,
          revoked_at: grant.revokedAt,
          offline: grant.offline ? 1 : 0,
          expires_at: grant.expiresAt,
          amr: JSON.stringify(grant.amr),
          resources: JSON.stringify(grant.resources),
          dpop_jkt: grant.dpopJkt,
          acr: grant.acr ?? null,
          ...refreshFamilyColumns(refresh),
        },
        on,
      )
    },

    /**
     * Rotation of a family's refresh token: from generation `from` to `next`, only if `from` is
     * still current and the grant is not revoked. Of concurrent callers exactly one gets true.
     */
    async advanceRefreshFamily(id: string, from: number, next: RefreshFamily): Promise<boolean> {
      return (await advance({ ...next, id, from })).numAffectedRows === 1n
    },

    /**
     * Gives a grant whose refresh token was stored by an earlier version its first generation;
     * `on`: the caller's transaction (marking that stored token used). False when it has one already
     * or is revoked.
     */
    async startRefreshFamily(id: string, first: RefreshFamily, on: Db = db): Promise<boolean> {
      const started = await on
        .updateTable('grants')
        .set(refreshFamilyColumns(first))
        .where('id', '=', id)
        .where('refresh_generation', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return started.numUpdatedRows === 1n
    },

    /** The grant with its session's public id (`sid` of refreshed ID tokens), read in one statement. */
    async find(id: string): Promise<StoredGrant | undefined> {
      const row = await db
        .selectFrom('grants')
        .leftJoin('sessions', 'sessions.id_hash', 'grants.session_id_hash')
        .selectAll('grants')
        .select('sessions.sid')
        .where('grants.id', '=', id)
        .executeTakeFirst()
      // '' is the sid of a session that had ended before sessions had one: none.
      return row ? { ...toGrant(row), sid: row.sid || null, refresh: refreshFamilyOf(row) } : undefined
    },

    /**
     * Re-authentication in the same browser: the new session takes over the old one's grants and
     * its codes and device approvals not yet redeemed (only redeemable while their session is live).
     */
    async moveToSession(fromSessionIdHash: string, toSessionIdHash: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('grants').set({ session_id_hash: toSessionIdHash }).where('session_id_hash', '=', fromSessionIdHash).execute()
        await trx
          .updateTable('authorization_codes')
          .set({ session_id_hash: toSessionIdHash })
          .where('session_id_hash', '=', fromSessionIdHash)
          .where('consumed_at', 'is', null)
          .execute()
        // Device approvals (RFC 8628) not yet picked up by their device follow too.
        await trx
          .updateTable('device_codes')
          .set({ session_id_hash: toSessionIdHash })
          .where('session_id_hash', '=', fromSessionIdHash)
          .where('consumed_at', 'is', null)
          .execute()
      })
    },

    /** A user revoked a client on the account page: all its grants for that user. */
    async revokeForUserAndClient(userId: string, clientId: string, now: number): Promise<void> {
      await revokeWhere(db, now, (q) => q.where('user_id', '=', userId).where('client_id', '=', clientId))
    },

    /** Revokes every grant of a user (account disabled, password changed) and their access tokens. */
    async revokeAllForUser(userId: string, now: number): Promise<void> {
      await revokeWhere(db, now, (q) => q.where('user_id', '=', userId))
    },

    /** Revokes the grant and every access token issued under it. */
    async revoke(id: string, now: number): Promise<void> {
      await revokeWhere(db, now, (q) => q.where('id', '=', id))
    },
  }
}
