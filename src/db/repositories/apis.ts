import type { Db } from '../connect.js'
import type { Api, ApiScope } from '../../model/api.js'

type Row = {
  identifier: string
  name: string
  scopes: string
  access_token_ttl: number | null
  first_party_only: number
  created_at: number
}

const toApi = (row: Row): Api => ({
  identifier: row.identifier,
  name: row.name,
  scopes: JSON.parse(row.scopes) as ApiScope[],
  accessTokenTtl: row.access_token_ttl,
  firstPartyOnly: row.first_party_only === 1,
  createdAt: row.created_at,
})

/** Registered APIs (resource servers) and which operator clients may ask for them. */
export function apisRepository(db: Db) {
  return {
    async insert(api: Api): Promise<boolean> {
      const result = await db
        .insertInto('apis')
        .values({
          identifier: api.identifier,
          name: api.name,
          scopes: JSON.stringify(api.scopes),
          access_token_ttl: api.accessTokenTtl,
          first_party_only: api.firstPartyOnly ? 1 : 0,
          created_at: api.createdAt,
        })
        .onConflict((oc) => oc.column('identifier').doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },

    async find(identifier: string): Promise<Api | undefined> {
      const row = await db.selectFrom('apis').selectAll().where('identifier', '=', identifier).executeTakeFirst()
      return row ? toApi(row) : undefined
    },

    /** The registered APIs among `identifiers`, by identifier. */
    async findMany(identifiers: readonly string[]): Promise<Map<string, Api>> {
      if (identifiers.length === 0) return new Map()
      const rows = await db.selectFrom('apis').selectAll().where('identifier', 'in', identifiers).execute()
      return new Map(rows.map((row) => [row.identifier, toApi(row)]))
    },

    async list(): Promise<Api[]> {
      return (await db.selectFrom('apis').selectAll().orderBy('created_at').orderBy('identifier').execute()).map(toApi)
    },

    async remove(identifier: string): Promise<boolean> {
      const result = await db.deleteFrom('apis').where('identifier', '=', identifier).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    /** The APIs an operator-registered client was allowed (`idp clients add --api`). */
    async allowedFor(clientId: string): Promise<Set<string>> {
      const rows = await db.selectFrom('client_apis').select('api').where('client_id', '=', clientId).execute()
      return new Set(rows.map((row) => row.api))
    },

    async allow(clientId: string, identifiers: readonly string[]): Promise<void> {
      if (identifiers.length === 0) return
      await db
        .insertInto('client_apis')
        .values(identifiers.map((api) => ({ client_id: clientId, api })))
        .onConflict((oc) => oc.columns(['client_id', 'api']).doNothing())
        .execute()
    },
  }
}

export type ApisRepository = ReturnType<typeof apisRepository>
