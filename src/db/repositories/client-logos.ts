import type { Db } from '../connect.js'

/** A fetched logo; `image` null when the last fetch failed. */
export interface StoredClientLogo {
  readonly clientId: string
  readonly sourceUri: string
  readonly image: { readonly contentType: string; readonly body: Buffer; readonly digest: string } | null
  readonly fetchedAt: number
}

/** Client logos kept for the pages (clients/client-logo.ts): one row per client, replaced on each fetch. */
export function clientLogosRepository(db: Db) {
  return {
    async find(clientId: string): Promise<StoredClientLogo | undefined> {
      const row = await db.selectFrom('client_logos').selectAll().where('client_id', '=', clientId).executeTakeFirst()
      if (!row) return undefined
      return {
        clientId: row.client_id,
        sourceUri: row.source_uri,
        image:
          row.body === null || row.content_type === null || row.digest === null
            ? null
            : { contentType: row.content_type, body: Buffer.from(row.body, 'base64'), digest: row.digest },
        fetchedAt: Number(row.fetched_at),
      }
    },

    async save(logo: StoredClientLogo): Promise<void> {
      const values = {
        source_uri: logo.sourceUri,
        content_type: logo.image?.contentType ?? null,
        body: logo.image?.body.toString('base64') ?? null,
        digest: logo.image?.digest ?? null,
        fetched_at: logo.fetchedAt,
      }
      await db
        .insertInto('client_logos')
        .values({ client_id: logo.clientId, ...values })
        .onConflict((oc) => oc.column('client_id').doUpdateSet(values))
        .execute()
    },

    async remove(clientId: string): Promise<void> {
      await db.deleteFrom('client_logos').where('client_id', '=', clientId).execute()
    },
  }
}
