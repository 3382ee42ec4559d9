import type { Db } from '../connect.js'

/** A remembered request: its hash and, once it completed, what it answered (sealed by the caller). */
export interface IdempotencyRecord {
  readonly requestHash: string
  /** Null while the first request with this key is still running. */
  readonly status: number | null
  readonly response: string | null
}

export interface IdempotencyClaim {
  readonly actor: string
  readonly key: string
  readonly requestHash: string
  readonly now: number
  readonly expiresAt: number
}

/** Idempotency keys of the admin API, per actor (http/admin/idempotency.ts). */
export function idempotencyKeysRepository(db: Db) {
  return {
    /**
     * Takes the key for a new request; false when a live record holds it already (then `find` it).
     * An expired record of the same key is replaced: keys are remembered for their lifetime only.
     */
    async claim(claim: IdempotencyClaim): Promise<boolean> {
      await db
        .deleteFrom('idempotency_keys')
        .where('actor', '=', claim.actor)
        .where('key', '=', claim.key)
        .where('expires_at', '<=', claim.now)
        .execute()
      const result = await db
        .insertInto('idempotency_keys')
        .values({
          actor: claim.actor,
          key: claim.key,
          request_hash: claim.requestHash,
          status: null,
          response: null,
          created_at: claim.now,
          expires_at: claim.expiresAt,
        })
        .onConflict((oc) => oc.columns(['actor', 'key']).doNothing())
        .executeTakeFirst()
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    },

    async find(actor: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
      const row = await db
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status', 'response'])
        .where('actor', '=', actor)
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return row ? { requestHash: row.request_hash, status: row.status, response: row.response } : undefined
    },

    /** The request completed: what a retry with the same key gets back. */
    async complete(actor: string, key: string, status: number, response: string): Promise<void> {
      await db.updateTable('idempotency_keys').set({ status, response }).where('actor', '=', actor).where('key', '=', key).execute()
    },

    /** The request failed before it changed anything: the key may be used again. */
    async release(actor: string, key: string): Promise<void> {
      await db.deleteFrom('idempotency_keys').where('actor', '=', actor).where('key', '=', key).where('status', 'is', null).execute()
    },
  }
}
