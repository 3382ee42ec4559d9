import type { Db } from '../connect.js'

export type ChallengePurpose = 'register' | 'authenticate'

/** WebAuthn challenges we issued: single use and short-lived, in the database so any instance can check them. */
export function webauthnChallengesRepository(db: Db) {
  return {
    async insert(challenge: string, purpose: ChallengePurpose, userId: string | null, now: number, ttl: number): Promise<void> {
      await db
        .insertInto('webauthn_challenges')
        .values({ challenge, purpose, user_id: userId, created_at: now, expires_at: now + ttl, used_at: null })
        .execute()
    },

    /**
     * Uses a challenge up: true only for the call that did, and only when it was issued for this
     * purpose (and this user, for registration) and has not expired.
     */
    async consume(challenge: string, purpose: ChallengePurpose, userId: string | null, now: number): Promise<boolean> {
      if (challenge.length > 200) return false
      let update = db
        .updateTable('webauthn_challenges')
        .set({ used_at: now })
        .where('challenge', '=', challenge)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
      update = userId === null ? update.where('user_id', 'is', null) : update.where('user_id', '=', userId)
      return (await update.executeTakeFirst()).numUpdatedRows === 1n
    },
  }
}
