import type { Db } from '../connect.js'

/** The jti of every accepted client assertion, until it expires: each is accepted once (RFC 7523 §3). */
export function clientAssertionsRepository(db: Db) {
  return {
    /** True only for the first use of this jti hash. */
    async use(jtiHash: string, expiresAt: number): Promise<boolean> {
      const result = await db
        .insertInto('client_assertions')
        .values({ jti_hash: jtiHash, expires_at: expiresAt })
        .onConflict((conflict) => conflict.column('jti_hash').doNothing())
        .executeTakeFirst()
      return (result.numInsertedOrUpdatedRows ?? 0n) === 1n
    },
  }
}
