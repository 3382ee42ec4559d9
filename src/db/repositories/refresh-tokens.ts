import type { Db } from '../connect.js'
import type { RefreshTokenRow } from '../schema.js'
import type { RefreshToken } from '../../model/refresh-token.js'

const toToken = (row: RefreshTokenRow): RefreshToken => ({
  tokenHash: row.token_hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  createdAt: row.created_at,
  idleExpiresAt: row.idle_expires_at,
  usedAt: row.used_at,
})

/** Opaque refresh tokens, stored as hashes; a family is all rows of one grant. */
export function refreshTokensRepository(db: Db) {
  return {
    async insert(token: Omit<RefreshToken, 'usedAt'>): Promise<void> {
      await db
        .insertInto('refresh_tokens')
        .values({
          token_hash: token.tokenHash,
          grant_id: token.grantId,
          client_id: token.clientId,
          created_at: token.createdAt,
          idle_expires_at: token.idleExpiresAt,
          used_at: null,
        })
        .execute()
    },

    async find(tokenHash: string): Promise<RefreshToken | undefined> {
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
      return row ? toToken(row) : undefined
    },

    /** Marks the token rotated; of concurrent callers exactly one gets true. */
    async markUsed(tokenHash: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },
  }
}
