import type { Db } from '../connect.js'
import type { FederatedIdentity } from '../../model/connection.js'
import type { FederatedIdentitiesTable } from '../schema.js'

const toIdentity = (row: FederatedIdentitiesTable): FederatedIdentity => ({
  id: row.id,
  connectionId: row.connection_id,
  subject: row.subject,
  userId: row.user_id,
  email: row.email,
  createdAt: Number(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
})

/** Upstream accounts linked to local ones, matched by (connection, subject) and nothing else. */
export function federatedIdentitiesRepository(db: Db) {
  return {
    /** False when this upstream account is already linked (to anyone). */
    async insert(identity: FederatedIdentity & { readonly tokens: string | null }): Promise<boolean> {
      const result = await db
        .insertInto('federated_identities')
        .values({
          id: identity.id,
          connection_id: identity.connectionId,
          subject: identity.subject,
          user_id: identity.userId,
          email: identity.email,
          tokens: identity.tokens,
          created_at: identity.createdAt,
          last_used_at: identity.lastUsedAt,
        })
        .onConflict((conflict) => conflict.columns(['connection_id', 'subject']).doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },

    async findBySubject(connectionId: string, subject: string): Promise<FederatedIdentity | undefined> {
      const row = await db
        .selectFrom('federated_identities')
        .selectAll()
        .where('connection_id', '=', connectionId)
        .where('subject', '=', subject)
        .executeTakeFirst()
      return row ? toIdentity(row) : undefined
    },

    async listForUser(userId: string): Promise<FederatedIdentity[]> {
      const rows = await db.selectFrom('federated_identities').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()
      return rows.map(toIdentity)
    },

    /** A sign-in through it: when, and the upstream's tokens when the connection keeps them. */
    async recordUse(id: string, now: number, tokens: string | null): Promise<void> {
      await db.updateTable('federated_identities').set({ last_used_at: now, tokens }).where('id', '=', id).execute()
    },

    async remove(userId: string, id: string): Promise<boolean> {
      const result = await db.deleteFrom('federated_identities').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    /** Unlinks every identity of a user; returns what was removed. */
    async removeAllForUser(userId: string): Promise<FederatedIdentity[]> {
      const rows = await db.deleteFrom('federated_identities').where('user_id', '=', userId).returningAll().execute()
      return rows.map(toIdentity)
    },
  }
}
