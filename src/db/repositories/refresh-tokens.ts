import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import type { RefreshTokenRow } from '../schema.js'
import type { RefreshToken } from '../../model/refresh-token.js'
import type { RefreshFamily } from '../../model/grant.js'
import { grantsRepository } from './grants.js'

const toToken = (row: RefreshTokenRow): RefreshToken => ({
  tokenHash: row.token_hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  createdAt: row.created_at,
  idleExpiresAt: row.idle_expires_at,
  usedAt: row.used_at,
})

/**
 * Opaque refresh tokens from before generations (tokens/refresh.ts), stored as hashes; a family
 * is all rows of one grant. No new rows are written: these are read, moved to generations by
 * their first refresh, and pruned once expired.
 */
export function refreshTokensRepository(db: Db) {
  const grants = grantsRepository(db)
  const byHash = compileOnce(db, ['tokenHash'], (db, args: { tokenHash: string }) =>
    db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', args.tokenHash),
  )
  const markUsed = compileOnce(db, ['tokenHash', 'now'], (db, args: { tokenHash: string; now: number }) =>
    db.updateTable('refresh_tokens').set({ used_at: args.now }).where('token_hash', '=', args.tokenHash).where('used_at', 'is', null),
  )
  return {
    async find(tokenHash: string): Promise<RefreshToken | undefined> {
      const row = (await byHash({ tokenHash })).rows[0]
      return row ? toToken(row) : undefined
    },

    /**
     * The first refresh of a stored token: marks it used (a later use of it is reuse) and moves its
     * grant's family to generations, in one transaction. Of concurrent callers exactly one gets
     * true. The first statement writes, so on SQLite the transaction takes the write lock at once.
     */
    async moveToGenerations(usedHash: string, grantId: string, next: RefreshFamily, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const marked = await markUsed({ tokenHash: usedHash, now }, trx)
        if (marked.numAffectedRows !== 1n) return false
        return grants.startRefreshFamily(grantId, next, trx)
      })
    },
  }
}
