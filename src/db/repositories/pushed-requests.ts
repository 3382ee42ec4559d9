import type { Db } from '../connect.js'
import type { RawParams } from '../../model/params.js'

/** Pushed authorization requests (RFC 9126 §2.2) waiting for their single use at /authorize. */
export function pushedRequestsRepository(db: Db) {
  return {
    async insert(requestUriHash: string, clientId: string, params: RawParams, expiresAt: number): Promise<void> {
      await db
        .insertInto('pushed_requests')
        .values({ request_uri_hash: requestUriHash, client_id: clientId, params: JSON.stringify(params), expires_at: expiresAt })
        .execute()
    },

    /** Removes and returns a live request: of concurrent uses exactly one gets it. */
    async take(requestUriHash: string, now: number): Promise<{ clientId: string; params: RawParams } | undefined> {
      const row = await db
        .deleteFrom('pushed_requests')
        .where('request_uri_hash', '=', requestUriHash)
        .returning(['client_id', 'params', 'expires_at'])
        .executeTakeFirst()
      if (!row || Number(row.expires_at) <= now) return undefined
      return { clientId: row.client_id, params: JSON.parse(row.params) as RawParams }
    },
  }
}
