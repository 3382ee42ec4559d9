import type { Db } from '../connect.js'
import { parseAmr, type AuthenticationMethod } from '../../model/authentication.js'
import type { PendingLogin } from '../../model/factors.js'
import { parseAcr, type Acr } from '../../model/acr.js'

/** Sign-ins waiting for their second factor (and sessions stepping up); the browser holds the random id, storage its hash. */
export function pendingLoginsRepository(db: Db) {
  return {
    async insert(
      login: Omit<PendingLogin, 'requiredAcr'> & { readonly requiredAcr?: Acr | null; readonly createdAt: number },
    ): Promise<void> {
      await db
        .insertInto('pending_logins')
        .values({
          id_hash: login.idHash,
          user_id: login.userId,
          amr: JSON.stringify(login.amr),
          interaction_id: login.interactionId,
          session_id_hash: login.sessionIdHash,
          created_at: login.createdAt,
          expires_at: login.expiresAt,
          required_acr: login.requiredAcr ?? null,
        })
        .execute()
    },

    async findLive(idHash: string, now: number): Promise<PendingLogin | undefined> {
      const row = await db
        .selectFrom('pending_logins')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return row
        ? {
            idHash: row.id_hash,
            userId: row.user_id,
            amr: parseAmr(row.amr) as AuthenticationMethod[],
            interactionId: row.interaction_id,
            sessionIdHash: row.session_id_hash,
            expiresAt: row.expires_at,
            requiredAcr: parseAcr(row.required_acr),
          }
        : undefined
    },

    /** Ends a pending sign-in; true for the one call that did (a second factor completes it once). */
    async remove(idHash: string): Promise<boolean> {
      const result = await db.deleteFrom('pending_logins').where('id_hash', '=', idHash).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
