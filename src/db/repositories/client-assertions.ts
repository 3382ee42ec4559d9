import type { Db } from '../connect.js'

/** Tables of single-use JWT ids: a row per accepted jti (hashed) until the JWT it came in expires. */
type SingleUseTable = 'client_assertions' | 'dpop_proofs'

function singleUseIds(db: Db, table: SingleUseTable) {
  return {
    /** True only for the first use of this jti hash. */
    async use(jtiHash: string, expiresAt: number): Promise<boolean> {
      const result = await db
        .insertInto(table)
        .values({ jti_hash: jtiHash, expires_at: expiresAt })
        .onConflict((conflict) => conflict.column('jti_hash').doNothing())
        .executeTakeFirst()
      return (result.numInsertedOrUpdatedRows ?? 0n) === 1n
    },
  }
}

/** The jti of every accepted client assertion: each is accepted once (RFC 7523 §3). */
export const clientAssertionsRepository = (db: Db) => singleUseIds(db, 'client_assertions')

/** The jti of every accepted DPoP proof, per key: a replayed proof is refused on every instance (RFC 9449 §11.1). */
export const dpopProofsRepository = (db: Db) => singleUseIds(db, 'dpop_proofs')
