import type { Db } from '../connect.js'
import type { SigningKeyRow } from '../schema.js'
import type { KeyChange, KeyRecord, KeyState } from '../../model/signing-key.js'

export interface StoredKey extends KeyRecord {
  readonly alg: string
  readonly publicJwk: string
  /** AES-GCM envelope of the PKCS#8 private key (empty once archived). */
  readonly sealedPrivateKey: string
}

export interface NewKey {
  readonly kid: string
  readonly alg: string
  readonly publicJwk: string
  readonly sealedPrivateKey: string
}

const toKey = (row: SigningKeyRow): StoredKey => ({
  kid: row.kid,
  alg: row.alg,
  state: row.state as KeyState,
  publicJwk: row.public_jwk,
  sealedPrivateKey: row.private_key,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  retiredAt: row.retired_at,
  retiresAt: row.retires_at,
})

export function signingKeysRepository(db: Db) {
  return {
    /** The generation counter changes with every mutation: a cheap "did anything change?" probe. */
    async generation(): Promise<number> {
      const row = await db.selectFrom('key_store_state').select('generation').where('id', '=', 1).executeTakeFirst()
      return row ? Number(row.generation) : -1
    },

    async load(): Promise<{ generation: number; keys: StoredKey[] }> {
      await db
        .insertInto('key_store_state')
        .values({ id: 1, generation: 0, rotated_at: 0 })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute()
      const generation = await this.generation()
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
      return { generation, keys: rows.map(toKey) }
    },

    /**
     * Applies a plan atomically, only if nobody else changed the store since `expectedGeneration`
     * was read (optimistic lock: the conditional update is the transaction's first write, so a
     * concurrent rotation in another process waits, then finds the generation moved and retries).
     * `created` holds one generated key per `create` change, in order.
     */
    async apply(expectedGeneration: number, changes: readonly KeyChange[], created: readonly NewKey[], now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const bumped = await trx
          .updateTable('key_store_state')
          .set({ generation: expectedGeneration + 1, rotated_at: now })
          .where('id', '=', 1)
          .where('generation', '=', expectedGeneration)
          .executeTakeFirst()
        if (bumped.numUpdatedRows !== 1n) return false
        let createdIndex = 0
        for (const change of changes) {
          switch (change.type) {
            case 'create': {
              const key = created[createdIndex++]!
              await trx
                .insertInto('signing_keys')
                .values({
                  kid: key.kid,
                  alg: key.alg,
                  state: change.state,
                  public_jwk: key.publicJwk,
                  private_key: key.sealedPrivateKey,
                  created_at: now,
                  activated_at: change.state === 'active' ? now : null,
                  retired_at: null,
                  retires_at: null,
                })
                .execute()
              break
            }
            case 'activate':
              await trx.updateTable('signing_keys').set({ state: 'active', activated_at: now }).where('kid', '=', change.kid).execute()
              break
            case 'retire':
              await trx
                .updateTable('signing_keys')
                .set({ state: 'retired', retired_at: now, retires_at: change.retiresAt })
                .where('kid', '=', change.kid)
                .execute()
              break
            case 'revoke':
              // A compromised key's private half is of no further use: wiped at once.
              await trx
                .updateTable('signing_keys')
                .set({ state: 'revoked', retired_at: now, retires_at: now, private_key: '' })
                .where('kid', '=', change.kid)
                .execute()
              break
            case 'remove':
              if (change.mode === 'delete') await trx.deleteFrom('signing_keys').where('kid', '=', change.kid).execute()
              else await trx.updateTable('signing_keys').set({ state: 'archived', private_key: '' }).where('kid', '=', change.kid).execute()
              break
          }
        }
        return true
      })
    },
  }
}

export type SigningKeysRepository = ReturnType<typeof signingKeysRepository>
