import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import type { RefreshTokenRow } from '../schema.js'
import type { NewRefreshToken, RefreshToken } from '../../model/refresh-token.js'

const toToken = (row: RefreshTokenRow): RefreshToken => ({
  tokenHash: row.token_hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  createdAt: row.created_at,
  idleExpiresAt: row.idle_expires_at,
  usedAt: row.used_at,
})

/**
 * Opaque refresh tokens, stored as hashes; a family is all rows of one grant. The statements of
 * a refresh are compiled once (compile-once.ts): every refresh runs all three.
 */
export function refreshTokensRepository(db: Db) {
  const byHash = compileOnce(db, ['tokenHash'], (db, args: { tokenHash: string }) =>
    db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', args.tokenHash),
  )
  const markUsed = compileOnce(db, ['tokenHash', 'now'], (db, args: { tokenHash: string; now: number }) =>
    db.updateTable('refresh_tokens').set({ used_at: args.now }).where('token_hash', '=', args.tokenHash).where('used_at', 'is', null),
  )
  const insert = compileOnce(db, ['tokenHash', 'grantId', 'clientId', 'createdAt', 'idleExpiresAt'], (db, args: NewRefreshToken) =>
    db.insertInto('refresh_tokens').values({
      token_hash: args.tokenHash,
      grant_id: args.grantId,
      client_id: args.clientId,
      created_at: args.createdAt,
      idle_expires_at: args.idleExpiresAt,
      // used_at is left out: NULL (a bound null would not be one of the compiled parameters).
    }),
  )
  return {
    /** Stores a token; `on`: the caller's transaction (the grant that starts the family). */
    async insert(token: NewRefreshToken, on?: Db): Promise<void> {
      await insert(token, on)
    },

    async find(tokenHash: string): Promise<RefreshToken | undefined> {
      const row = (await byHash({ tokenHash })).rows[0]
      return row ? toToken(row) : undefined
    },

    /**
     * Rotation: marks the presented token used and stores its successor, in one transaction (one
     * commit, and never a used token without its successor). Of concurrent callers exactly one
     * gets true; the others store nothing. The first statement writes, so on SQLite the
     * transaction takes the write lock at once.
     */
    async rotate(usedHash: string, next: NewRefreshToken, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const marked = await markUsed({ tokenHash: usedHash, now }, trx)
        if (marked.numAffectedRows !== 1n) return false
        await insert(next, trx)
        return true
      })
    },
  }
}
