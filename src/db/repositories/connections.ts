import type { Db } from '../connect.js'
import type { Connection, UpstreamEndpoints } from '../../model/connection.js'
import type { ConnectionsTable } from '../schema.js'

const toConnection = (row: ConnectionsTable): Connection => ({
  id: row.id,
  name: row.name,
  type: row.type === 'oauth2' ? 'oauth2' : 'oidc',
  issuer: row.issuer,
  clientId: row.client_id,
  sealedClientSecret: row.client_secret,
  scopes: JSON.parse(row.scopes) as string[],
  domains: JSON.parse(row.domains) as string[],
  trustEmail: row.trust_email === 1,
  storeTokens: row.store_tokens === 1,
  endpoints: JSON.parse(row.server_metadata) as UpstreamEndpoints,
  claimMapping: JSON.parse(row.claim_mapping) as Record<string, string>,
  disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  createdAt: Number(row.created_at),
})

/** Upstream identity providers (few rows, read on every login page). */
export function connectionsRepository(db: Db) {
  return {
    /** False when the id is taken. */
    async insert(connection: Connection): Promise<boolean> {
      const result = await db
        .insertInto('connections')
        .values({
          id: connection.id,
          name: connection.name,
          type: connection.type,
          issuer: connection.issuer,
          client_id: connection.clientId,
          client_secret: connection.sealedClientSecret,
          scopes: JSON.stringify(connection.scopes),
          domains: JSON.stringify(connection.domains),
          trust_email: connection.trustEmail ? 1 : 0,
          store_tokens: connection.storeTokens ? 1 : 0,
          server_metadata: JSON.stringify(connection.endpoints),
          claim_mapping: JSON.stringify(connection.claimMapping),
          disabled_at: connection.disabledAt,
          created_at: connection.createdAt,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },

    async find(id: string): Promise<Connection | undefined> {
      const row = await db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toConnection(row) : undefined
    },

    async list(): Promise<Connection[]> {
      const rows = await db.selectFrom('connections').selectAll().orderBy('name').orderBy('id').execute()
      return rows.map(toConnection)
    },

    async setDisabled(id: string, disabledAt: number | null): Promise<boolean> {
      const result = await db.updateTable('connections').set({ disabled_at: disabledAt }).where('id', '=', id).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Removes the connection and every identity linked through it. */
    async remove(id: string): Promise<boolean> {
      await db.deleteFrom('federated_identities').where('connection_id', '=', id).execute()
      await db.deleteFrom('pending_links').where('connection_id', '=', id).execute()
      await db.deleteFrom('upstream_logins').where('connection_id', '=', id).execute()
      const result = await db.deleteFrom('connections').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
