import type { Db } from '../connect.js'
import type { AuthorizationRequest } from '../../model/authorization-request.js'
import type { Interaction } from '../../model/interaction.js'

/** A validated authorization request parked while the user logs in. */
/** Requests parked before acr_values existed lack the two members: they asked for nothing. */
function storedRequest(raw: string): AuthorizationRequest {
  const request = JSON.parse(raw) as Partial<AuthorizationRequest> &
    Omit<AuthorizationRequest, 'acrValues' | 'essentialAcr' | 'resources' | 'dpopJkt'>
  return {
    ...request,
    acrValues: request.acrValues ?? [],
    essentialAcr: request.essentialAcr ?? null,
    resources: request.resources ?? [],
    dpopJkt: request.dpopJkt ?? null,
  }
}

export function interactionsRepository(db: Db) {
  return {
    async insert(id: string, request: AuthorizationRequest, now: number, expiresAt: number): Promise<void> {
      await db
        .insertInto('interactions')
        .values({
          id,
          client_id: request.clientId,
          request: JSON.stringify(request),
          created_at: now,
          expires_at: expiresAt,
          session_id_hash: null,
        })
        .execute()
    },

    async findLive(id: string, now: number): Promise<Interaction | undefined> {
      const row = await db.selectFrom('interactions').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst()
      return row
        ? { id: row.id, request: storedRequest(row.request), expiresAt: row.expires_at, sessionIdHash: row.session_id_hash }
        : undefined
    },

    async bindSession(id: string, sessionIdHash: string): Promise<void> {
      await db.updateTable('interactions').set({ session_id_hash: sessionIdHash }).where('id', '=', id).execute()
    },

    async remove(id: string): Promise<void> {
      await db.deleteFrom('interactions').where('id', '=', id).execute()
    },
  }
}
