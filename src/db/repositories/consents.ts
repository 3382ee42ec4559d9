import type { Db } from '../connect.js'
import type { Consent } from '../../model/consent.js'

/** What a user approved for a third-party client; remembered until revoked on the account page. */
export function consentsRepository(db: Db) {
  return {
    async find(userId: string, clientId: string): Promise<Consent | undefined> {
      const row = await db
        .selectFrom('consents')
        .selectAll()
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return row ? { userId: row.user_id, clientId: row.client_id, scope: row.scope, updatedAt: row.updated_at } : undefined
    },

    /** The user's consents with the name of each client that still exists, newest first (one query). */
    async listApplicationsForUser(userId: string): Promise<(Consent & { readonly clientName: string })[]> {
      const rows = await db
        .selectFrom('consents')
        .innerJoin('clients', 'clients.id', 'consents.client_id')
        .select(['consents.user_id', 'consents.client_id', 'consents.scope', 'consents.updated_at', 'clients.name'])
        .where('consents.user_id', '=', userId)
        .orderBy('consents.updated_at', 'desc')
        .execute()
      return rows.map((row) => ({
        userId: row.user_id,
        clientId: row.client_id,
        scope: row.scope,
        updatedAt: row.updated_at,
        clientName: row.name,
      }))
    },

    /** Records approval; the remembered scope is the union of everything approved so far. */
    async grant(userId: string, clientId: string, scope: string, now: number): Promise<void> {
      const existing = await this.find(userId, clientId)
      const merged = [...new Set([...(existing?.scope.split(' ') ?? []), ...scope.split(' ')])].filter((s) => s !== '').join(' ')
      if (existing) {
        await db
          .updateTable('consents')
          .set({ scope: merged, updated_at: now })
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .execute()
      } else {
        await db
          .insertInto('consents')
          .values({ user_id: userId, client_id: clientId, scope: merged, created_at: now, updated_at: now })
          .execute()
      }
    },

    async revoke(userId: string, clientId: string): Promise<boolean> {
      const result = await db.deleteFrom('consents').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
