import type { Db } from '../connect.js'
import type { CodeRow } from '../schema.js'
import { grantsRepository } from './grants.js'
import { inLiveSession, sessionSid } from './live-session.js'
import type { Grant, RefreshFamily } from '../../model/grant.js'
import type { AuthorizationCode, StoredCode } from '../../model/code.js'
import { compileOnce } from '../compile-once.js'
import { parseAmr } from '../../model/authentication.js'
import { parseAcr } from '../../model/acr.js'

const toCode = (row: CodeRow): StoredCode => ({
  codeHash: row.code_hash,
  clientId: row.client_id,
  userId: row.user_id,
  sessionIdHash: row.session_id_hash,
  redirectUri: row.redirect_uri,
  scope: row.scope,
  nonce: row.nonce,
  codeChallenge: row.code_challenge,
  authTime: row.auth_time,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  consumedAt: row.consumed_at,
  grantId: row.grant_id,
  amr: parseAmr(row.amr),
  resources: JSON.parse(row.resources) as string[],
  dpopJkt: row.dpop_jkt,
  acr: parseAcr(row.acr),
})

/** What a redemption attempt found: the grant it created, or why there is none. */
export type Redemption =
  /** `sid`: the public id of the approving session, for the ID token (null: it has none). */
  | { readonly outcome: 'redeemed'; readonly sid: string | null }
  | { readonly outcome: 'replayed'; readonly grantId: string | null }
  | { readonly outcome: 'session_ended' }

export function codesRepository(db: Db) {
  const grants = grantsRepository(db)
  // The statements of every code exchange, compiled once (compile-once.ts).
  const byHash = compileOnce(db, ['codeHash'], (db, args: { codeHash: string }) =>
    db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', args.codeHash),
  )
  const consume = compileOnce(db, ['codeHash', 'grantId', 'now'], (db, args: { codeHash: string; grantId: string; now: number }) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: args.now, grant_id: args.grantId })
      .where('code_hash', '=', args.codeHash)
      .where('consumed_at', 'is', null)
      .where((eb) => inLiveSession(eb, 'authorization_codes', args.now)),
  )
  return {
    async insert(code: AuthorizationCode): Promise<void> {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: code.codeHash,
          client_id: code.clientId,
          user_id: code.userId,
          session_id_hash: code.sessionIdHash,
          redirect_uri: code.redirectUri,
          scope: code.scope,
          nonce: code.nonce,
          code_challenge: code.codeChallenge,
          auth_time: code.authTime,
          created_at: code.createdAt,
          expires_at: code.expiresAt,
          consumed_at: null,
          grant_id: null,
          amr: JSON.stringify(code.amr),
          resources: JSON.stringify(code.resources),
          dpop_jkt: code.dpopJkt,
          acr: code.acr ?? null,
        })
        .execute()
    },

    /**
     * Consumes the code and stores the grant it authorises, atomically: of concurrent redemptions
     * exactly one wins, and only while the login session the code was issued in is live (a
     * logout voids the session's unredeemed codes). The grant carries its refresh-token family
     * (tokens/refresh.ts), so no other row is written.
     */
    async redeem(codeHash: string, grant: Grant, refresh: RefreshFamily | null, now: number): Promise<Redemption> {
      return db.transaction().execute(async (trx): Promise<Redemption> => {
        // The first statement writes: on SQLite the transaction takes the write lock at once.
        const consumed = await consume({ codeHash, grantId: grant.id, now }, trx)
        if (consumed.numAffectedRows === 1n) {
          await grants.insert(grant, refresh, trx)
          return { outcome: 'redeemed', sid: await sessionSid(trx, grant.sessionIdHash) }
        }
        const row = await trx
          .selectFrom('authorization_codes')
          .select(['consumed_at', 'grant_id'])
          .where('code_hash', '=', codeHash)
          .executeTakeFirst()
        return row?.consumed_at != null ? { outcome: 'replayed', grantId: row.grant_id } : { outcome: 'session_ended' }
      })
    },

    async find(codeHash: string): Promise<StoredCode | undefined> {
      const row = (await byHash({ codeHash })).rows[0]
      return row ? toCode(row) : undefined
    },
  }
}
