import type { Db } from '../connect.js'
import type { TotpFactor } from '../../model/factors.js'

/** Authenticator-app secrets (sealed), at most one per user; a new setup replaces an unconfirmed one. */
export function totpRepository(db: Db) {
  return {
    async find(userId: string): Promise<TotpFactor | undefined> {
      const row = await db.selectFrom('totp_factors').selectAll().where('user_id', '=', userId).executeTakeFirst()
      return row
        ? {
            userId: row.user_id,
            sealedSecret: row.secret,
            createdAt: row.created_at,
            confirmedAt: row.confirmed_at,
            lastTimeStep: row.last_time_step === null ? null : Number(row.last_time_step),
          }
        : undefined
    },

    /** A new secret awaiting its first code; an existing confirmed one is never overwritten. */
    async startSetup(userId: string, sealedSecret: string, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp_factors').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute()
        const inserted = await trx
          .insertInto('totp_factors')
          .values({ user_id: userId, secret: sealedSecret, created_at: now, confirmed_at: null, last_time_step: null })
          .onConflict((oc) => oc.column('user_id').doNothing())
          .executeTakeFirst()
        return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1
      })
    },

    /**
     * Accepts a code's time step once: only when it is later than every step accepted before
     * (RFC 6238 §5.2: a code may not be used twice). `confirm` also makes a pending secret a factor.
     */
    async acceptTimeStep(userId: string, timeStep: number, now: number, confirm: boolean): Promise<boolean> {
      let update = db
        .updateTable('totp_factors')
        .set(confirm ? { last_time_step: timeStep, confirmed_at: now } : { last_time_step: timeStep })
        .where('user_id', '=', userId)
      update = update.where((eb) => eb.or([eb('last_time_step', 'is', null), eb('last_time_step', '<', timeStep)]))
      update = confirm ? update.where('confirmed_at', 'is', null) : update.where('confirmed_at', 'is not', null)
      const result = await update.executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    async remove(userId: string): Promise<boolean> {
      const result = await db.deleteFrom('totp_factors').where('user_id', '=', userId).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
