import type { Db } from '../connect.js'
import type { AccountTokensTable } from '../schema.js'

export type AccountTokenPurpose = AccountTokensTable['purpose']

async function voidUnused(db: Db, userId: string, purpose: AccountTokenPurpose, now: number): Promise<void> {
  await db
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute()
}

/**
 * Single-use tokens sent by mail (email verification, password reset). Only the SHA-256 of the
 * token is stored; issuing a new one voids the user's older unused ones of the same purpose.
 */
export function accountTokensRepository(db: Db) {
  return {
    async issue(input: { tokenHash: string; userId: string; purpose: AccountTokenPurpose; now: number; ttl: number }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await voidUnused(trx, input.userId, input.purpose, input.now)
        await trx
          .insertInto('account_tokens')
          .values({
            token_hash: input.tokenHash,
            user_id: input.userId,
            purpose: input.purpose,
            created_at: input.now,
            expires_at: input.now + input.ttl,
            used_at: null,
          })
          .execute()
      })
    },

    /** The user a live (unused, unexpired) token belongs to, without using it up. */
    async findLive(tokenHash: string, purpose: AccountTokenPurpose, now: number): Promise<string | undefined> {
      const row = await db
        .selectFrom('account_tokens')
        .select('user_id')
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return row?.user_id
    },

    /** Uses the token up; the user id when this call was the one that consumed it. */
    async consume(tokenHash: string, purpose: AccountTokenPurpose, now: number): Promise<string | undefined> {
      const userId = await this.findLive(tokenHash, purpose, now)
      if (userId === undefined) return undefined
      const result = await db
        .updateTable('account_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1 ? userId : undefined
    },

    /** Voids every unused token of a user (e.g. all reset links once the password changed). */
    voidAll: (userId: string, purpose: AccountTokenPurpose, now: number): Promise<void> => voidUnused(db, userId, purpose, now),
  }
}

export type AccountTokensRepository = ReturnType<typeof accountTokensRepository>
