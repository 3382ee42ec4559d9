import type { Db } from '../connect.js'

/** How many rows of each kind went with a deleted account. */
export interface RemovedAccountData {
  readonly sessions: number
  readonly grants: number
  readonly accessTokens: number
  readonly consents: number
  readonly passkeys: number
  readonly federatedIdentities: number
}

/** A grant of the user's, with the name of its client when that still exists (for their data export). */
export interface UserGrantRecord {
  readonly clientId: string
  readonly clientName: string | null
  readonly scope: string
  readonly createdAt: number
  readonly revokedAt: number | null
  readonly offline: boolean
}

/** A session of the user's, without its id hash or public references (for their data export). */
export interface UserSessionRecord {
  readonly createdAt: number
  readonly lastSeenAt: number
  readonly expiresAt: number
  readonly endedAt: number | null
  readonly userAgent: string | null
  readonly amr: readonly string[]
}

const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows)

/**
 * Everything stored about one account, read for its export and deleted with it (accounts/lifecycle.ts).
 * The tables that point at users without a foreign key (codes, device approvals, challenges,
 * federated identities, upstream sign-ins) are named here one by one, so nothing is left behind
 * even where no cascade exists.
 */
export function accountDataRepository(db: Db) {
  return {
    /**
     * Deletes the account and every row about it in one transaction. Its sessions must have been
     * ended first (sessions/end-session.ts), so that their relying parties are told. Audit events
     * keep the user id (never the email) until AUDIT_RETENTION removes them. Null when there is no
     * such user.
     */
    async remove(userId: string): Promise<RemovedAccountData | null> {
      return db.transaction().execute(async (trx) => {
        // Children first (the counts are then exact, cascades or not), the account row last. The
        // first statement writes: on SQLite the transaction takes the write lock at once.
        const grants = trx.selectFrom('grants').select('id').where('user_id', '=', userId)
        const accessTokens = count(await trx.deleteFrom('access_tokens').where('grant_id', 'in', grants).executeTakeFirst())
        const user = await trx.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst()
        if (user === undefined) return null
        await trx.deleteFrom('refresh_tokens').where('grant_id', 'in', grants).execute()
        const grantCount = count(await trx.deleteFrom('grants').where('user_id', '=', userId).executeTakeFirst())
        const sessions = count(await trx.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst())
        const consents = count(await trx.deleteFrom('consents').where('user_id', '=', userId).executeTakeFirst())
        const passkeys = count(await trx.deleteFrom('webauthn_credentials').where('user_id', '=', userId).executeTakeFirst())
        await trx.deleteFrom('totp_factors').where('user_id', '=', userId).execute()
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
        await trx.deleteFrom('account_tokens').where('user_id', '=', userId).execute()
        await trx.deleteFrom('pending_logins').where('user_id', '=', userId).execute()
        await trx.deleteFrom('webauthn_challenges').where('user_id', '=', userId).execute()
        await trx.deleteFrom('authorization_codes').where('user_id', '=', userId).execute()
        await trx.deleteFrom('device_codes').where('user_id', '=', userId).execute()
        await trx.deleteFrom('upstream_logins').where('link_user_id', '=', userId).execute()
        // A link waiting for proof of this account names it only by its address.
        await trx.deleteFrom('pending_links').where('email', '=', user.email).execute()
        const federatedIdentities = count(await trx.deleteFrom('federated_identities').where('user_id', '=', userId).executeTakeFirst())
        await trx.deleteFrom('users').where('id', '=', userId).execute()
        return { sessions, grants: grantCount, accessTokens, consents, passkeys, federatedIdentities }
      })
    },

    /** Every grant of the user, newest first, with its client's name. */
    async grantsOf(userId: string): Promise<UserGrantRecord[]> {
      const rows = await db
        .selectFrom('grants')
        .leftJoin('clients', 'clients.id', 'grants.client_id')
        .select(['grants.client_id', 'clients.name', 'grants.scope', 'grants.created_at', 'grants.revoked_at', 'grants.offline'])
        .where('grants.user_id', '=', userId)
        .orderBy('grants.created_at', 'desc')
        .orderBy('grants.id')
        .execute()
      return rows.map((row) => ({
        clientId: row.client_id,
        clientName: row.name,
        scope: row.scope,
        createdAt: Number(row.created_at),
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
        offline: row.offline === 1,
      }))
    },

    /** Every session of the user still stored (ended ones until pruning), newest first. */
    async sessionsOf(userId: string): Promise<UserSessionRecord[]> {
      const rows = await db
        .selectFrom('sessions')
        .select(['created_at', 'last_seen_at', 'expires_at', 'ended_at', 'user_agent', 'amr'])
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .execute()
      return rows.map((row) => ({
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
        expiresAt: Number(row.expires_at),
        endedAt: row.ended_at === null ? null : Number(row.ended_at),
        userAgent: row.user_agent,
        amr: parseList(row.amr),
      }))
    },
  }
}

function parseList(raw: string): string[] {
  const value: unknown = JSON.parse(raw)
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}
