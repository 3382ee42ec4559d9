import type { Db } from '../connect.js'
import { parseAmr, type AuthenticationMethod } from '../../model/authentication.js'

/** A sign-in sent to an upstream, waiting for its callback. */
export interface UpstreamLogin {
  readonly idHash: string
  readonly connectionId: string
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly interactionId: string | null
  /** A signed-in user linking this upstream from the account page. */
  readonly linkUserId: string | null
  readonly createdAt: number
  readonly expiresAt: number
}

/** An upstream identity waiting for the user to prove control of the local account it would join. */
export interface PendingLink {
  readonly idHash: string
  readonly connectionId: string
  readonly subject: string
  readonly email: string
  readonly tokens: string | null
  readonly amr: readonly AuthenticationMethod[]
  readonly interactionId: string | null
  readonly createdAt: number
  readonly expiresAt: number
}

/** Both kinds of row are found by the hash of a random browser cookie and taken once. */
export function upstreamLoginsRepository(db: Db) {
  return {
    async insert(login: UpstreamLogin): Promise<void> {
      await db
        .insertInto('upstream_logins')
        .values({
          id_hash: login.idHash,
          connection_id: login.connectionId,
          state: login.state,
          nonce: login.nonce,
          code_verifier: login.codeVerifier,
          interaction_id: login.interactionId,
          link_user_id: login.linkUserId,
          created_at: login.createdAt,
          expires_at: login.expiresAt,
        })
        .execute()
    },

    /** The live login, marked used by this call (a callback is processed once). */
    async take(idHash: string, now: number): Promise<UpstreamLogin | undefined> {
      const taken = await db
        .updateTable('upstream_logins')
        .set({ used_at: now })
        .where('id_hash', '=', idHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      if (taken.numUpdatedRows === 0n) return undefined
      const row = await db.selectFrom('upstream_logins').selectAll().where('id_hash', '=', idHash).executeTakeFirstOrThrow()
      return {
        idHash: row.id_hash,
        connectionId: row.connection_id,
        state: row.state,
        nonce: row.nonce,
        codeVerifier: row.code_verifier,
        interactionId: row.interaction_id,
        linkUserId: row.link_user_id,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      }
    },

    async insertPendingLink(link: PendingLink): Promise<void> {
      await db
        .insertInto('pending_links')
        .values({
          id_hash: link.idHash,
          connection_id: link.connectionId,
          subject: link.subject,
          email: link.email,
          tokens: link.tokens,
          amr: JSON.stringify(link.amr),
          interaction_id: link.interactionId,
          created_at: link.createdAt,
          expires_at: link.expiresAt,
        })
        .execute()
    },

    async findPendingLink(idHash: string, now: number): Promise<PendingLink | undefined> {
      const row = await db
        .selectFrom('pending_links')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return row
        ? {
            idHash: row.id_hash,
            connectionId: row.connection_id,
            subject: row.subject,
            email: row.email,
            tokens: row.tokens,
            amr: parseAmr(row.amr),
            interactionId: row.interaction_id,
            createdAt: Number(row.created_at),
            expiresAt: Number(row.expires_at),
          }
        : undefined
    },

    /** True for the one call that used it. */
    async usePendingLink(idHash: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('pending_links')
        .set({ used_at: now })
        .where('id_hash', '=', idHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
  }
}
