import type { Db } from '../connect.js'
import { compileOnce } from '../compile-once.js'
import { accessTokenOwner } from '../../model/access-token-id.js'

/** What the liveness check needs of a verified access token (its signature and expiry are already checked). */
export interface PresentedAccessToken {
  readonly jti: string
  readonly clientId: string
  /** `exp`: how long a revocation of it must be remembered. */
  readonly expiresAt: number
}

/** SQLite answers EXISTS with 0 or 1, PostgreSQL with a boolean. */
const truthy = (value: unknown): boolean => Number(value) === 1

/**
 * Whether an access token may still be used, without a row per token (model/access-token-id.ts):
 * a grant's token lives while its grant does, a client_credentials token while its client does,
 * unless it was revoked on its own (the short list revoked_access_tokens). Each check is one
 * round trip, compiled once (userinfo and introspection ask on every request). Tokens of the
 * earlier format are looked up by their row in access_tokens, as before.
 */
export function accessTokensRepository(db: Db) {
  const grantToken = compileOnce(db, ['grantId', 'jti'], (db, args: { grantId: string; jti: string }) =>
    db
      .selectFrom('grants')
      .select((eb) => [
        'grants.revoked_at',
        eb
          .exists(
            eb.selectFrom('revoked_access_tokens').select('revoked_access_tokens.jti').where('revoked_access_tokens.jti', '=', args.jti),
          )
          .as('denied'),
      ])
      .where('grants.id', '=', args.grantId),
  )
  const clientToken = compileOnce(db, ['clientId', 'jti'], (db, args: { clientId: string; jti: string }) =>
    db
      .selectFrom('clients')
      .select((eb) =>
        eb
          .exists(
            eb.selectFrom('revoked_access_tokens').select('revoked_access_tokens.jti').where('revoked_access_tokens.jti', '=', args.jti),
          )
          .as('denied'),
      )
      .where('clients.id', '=', args.clientId),
  )
  const earlierFormat = compileOnce(db, ['jti'], (db, args: { jti: string }) =>
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
  async function findLive(token: PresentedAccessToken, now: number): Promise<{ readonly grantId: string | null } | undefined> {
    const owner = accessTokenOwner(token.jti)
    if (owner?.kind === 'grant') {
      const row = (await grantToken({ grantId: owner.grantId, jti: token.jti })).rows[0]
      // No grant: deleted with its user, or pruned long after it died. Either way the token is dead.
      return row && row.revoked_at === null && !truthy(row.denied) ? { grantId: owner.grantId } : undefined
    }
    if (owner?.kind === 'client') {
      const row = (await clientToken({ clientId: token.clientId, jti: token.jti })).rows[0]
      return row && !truthy(row.denied) ? { grantId: null } : undefined
    }
    const row = (await earlierFormat({ jti: token.jti })).rows[0]
    if (!row || row.token_revoked !== null || row.grant_revoked !== null || row.expires_at <= now) return undefined
    return { grantId: row.grant_id }
  }

  return {
    /** True when the token is not revoked, on its own or through its grant or client. */
    async isLive(token: PresentedAccessToken, now: number): Promise<boolean> {
      return (await findLive(token, now)) !== undefined
    },

    findLive,

    /** RFC 7009: this token only; listed until it expires (maintenance prunes the list). */
    async revoke(token: PresentedAccessToken, now: number): Promise<void> {
      if (accessTokenOwner(token.jti) === null) {
        await db
          .updateTable('access_tokens')
          .set({ revoked_at: now })
          .where('jti', '=', token.jti)
          .where('revoked_at', 'is', null)
          .execute()
        return
      }
      await db
        .insertInto('revoked_access_tokens')
        .values({ jti: token.jti, expires_at: token.expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute()
    },
  }
}
