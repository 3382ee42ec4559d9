import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import { createWriteBatch } from '../write-batch.js'

export interface IssuedAccessToken {
  readonly jti: string
  readonly grantId: string | null
  readonly clientId: string
  readonly kid: string
  readonly expiresAt: number
}

/**
 * Every access token we sign is recorded by `jti`, so that userinfo and introspection can see
 * revocation (its own, its grant's, or its signing key's) and not only a valid signature.
 * Inserts from concurrent requests are group-committed (write-batch.ts): the token endpoint's one
 * write per token is the largest database cost under load. `db` must not be a transaction, since a
 * batch is written after the caller's turn ends.
 */
export function accessTokensRepository(db: Db) {
  const inserts = createWriteBatch<IssuedAccessToken>(async (tokens) => {
    await db
      .insertInto('access_tokens')
      .values(
        tokens.map((token) => ({
          jti: token.jti,
          grant_id: token.grantId,
          client_id: token.clientId,
          kid: token.kid,
          expires_at: token.expiresAt,
          revoked_at: null,
        })),
      )
      .execute()
  })
  // Userinfo and introspection ask this on every request: compiled once (compile-once.ts).
  const liveness = compileOnce(db, ['jti'], (db, args: { jti: string }) =>
    db
      .selectFrom('access_tokens')
      .leftJoin('grants', 'grants.id', 'access_tokens.grant_id')
      .select([
        'access_tokens.revoked_at as token_revoked',
        'access_tokens.expires_at',
        'access_tokens.grant_id',
        'grants.revoked_at as grant_revoked',
      ])
      .where('access_tokens.jti', '=', args.jti),
  )
  /** A live token's grant (null for client_credentials tokens); undefined when it is not live. */
  async function findLive(jti: string, now: number): Promise<{ readonly grantId: string | null } | undefined> {
    const row = (await liveness({ jti })).rows[0]
    if (!row || row.token_revoked !== null || row.grant_revoked !== null || row.expires_at <= now) return undefined
    return { grantId: row.grant_id }
  }
  return {
    /** Resolves once the row is committed (together with the others of this event-loop turn). */
    insert(token: IssuedAccessToken): Promise<void> {
      return inserts.add(token)
    },

    /** True when the token was issued by us, is not revoked, and its grant (if any) is not revoked. */
    async isLive(jti: string, now: number): Promise<boolean> {
      return (await findLive(jti, now)) !== undefined
    },

    findLive,

    async revoke(jti: string, now: number): Promise<void> {
      await db.updateTable('access_tokens').set({ revoked_at: now }).where('jti', '=', jti).where('revoked_at', 'is', null).execute()
    },
  }
}
