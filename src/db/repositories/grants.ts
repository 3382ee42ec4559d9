import type { Db } from '../connect.js'
import type { GrantRow } from '../schema.js'

/** What one code redemption (or client_credentials call) authorised; tokens hang off it so they can be taken back together. */
export interface Grant {
  readonly id: string
  readonly userId: string
  readonly clientId: string
  readonly sessionIdHash: string | null
  readonly scope: string
  readonly authTime: number
  readonly createdAt: number
  readonly revokedAt: number | null
}

const toGrant = (row: GrantRow): Grant => ({
  id: row.id,
  userId: row.user_id,
  clientId: row.client_id,
  sessionIdHash: row.session_id_hash,
  scope: row.scope,
  authTime: row.auth_time,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
})

export function grantsRepository(db: Db) {
  return {
    async insert(grant: Grant): Promise<void> {
      await db
        .insertInto('grants')
        .values({
          id: grant.id,
          user_id: grant.userId,
          client_id: grant.clientId,
          session_id_hash: grant.sessionIdHash,
          scope: grant.scope,
          auth_time: grant.authTime,
          created_at: grant.createdAt,
          revoked_at: grant.revokedAt,
        })
        .execute()
    },

    async find(id: string): Promise<Grant | undefined> {
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toGrant(row) : undefined
    },

    /** Revokes every grant of a user (account disabled, password changed) and their access tokens. */
    async revokeAllForUser(userId: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const grantIds = trx.selectFrom('grants').select('id').where('user_id', '=', userId)
        await trx.updateTable('access_tokens').set({ revoked_at: now }).where('grant_id', 'in', grantIds).where('revoked_at', 'is', null).execute()
        await trx.updateTable('grants').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute()
      })
    },

    /** Revokes the grant and every access token issued under it. */
    async revoke(id: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('grants').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute()
        await trx.updateTable('access_tokens').set({ revoked_at: now }).where('grant_id', '=', id).where('revoked_at', 'is', null).execute()
      })
    },
  }
}

export type GrantsRepository = ReturnType<typeof grantsRepository>
