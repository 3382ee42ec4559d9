import type { Db } from '../connect.js'

/** Single-use recovery codes, stored as hashes; a new set replaces the old one whole. */
export function recoveryCodesRepository(db: Db) {
  return {
    async replace(userId: string, codeHashes: readonly string[], now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
        if (codeHashes.length > 0)
          await trx
            .insertInto('recovery_codes')
            .values(codeHashes.map((hash) => ({ code_hash: hash, user_id: userId, created_at: now, used_at: null })))
            .execute()
      })
    },

    /** Uses a code up; true only for the call that did (a code works once). */
    async consume(userId: string, codeHash: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('code_hash', '=', codeHash)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    async countUnused(userId: string): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(row?.n ?? 0)
    },

    async removeAll(userId: string): Promise<void> {
      await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
    },
  }
}
