import type { Db } from '../connect.js'
import type { Passkey } from '../../model/factors.js'

type Row = {
  id: string
  user_id: string
  name: string
  public_key: string
  counter: number
  transports: string
  device_type: string
  backed_up: number
  aaguid: string
  created_at: number
  last_used_at: number | null
}

const toPasskey = (row: Row): Passkey => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  publicKey: row.public_key,
  counter: Number(row.counter),
  transports: JSON.parse(row.transports) as string[],
  deviceType: row.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
  backedUp: row.backed_up === 1,
  aaguid: row.aaguid,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
})

/** Passkeys (WebAuthn credentials): public keys only; the private halves never leave the authenticator. */
export function passkeysRepository(db: Db) {
  return {
    async insert(passkey: Passkey): Promise<void> {
      await db
        .insertInto('webauthn_credentials')
        .values({
          id: passkey.id,
          user_id: passkey.userId,
          name: passkey.name,
          public_key: passkey.publicKey,
          counter: passkey.counter,
          transports: JSON.stringify(passkey.transports),
          device_type: passkey.deviceType,
          backed_up: passkey.backedUp ? 1 : 0,
          aaguid: passkey.aaguid,
          created_at: passkey.createdAt,
          last_used_at: passkey.lastUsedAt,
        })
        .execute()
    },

    async find(id: string): Promise<Passkey | undefined> {
      const row = await db.selectFrom('webauthn_credentials').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toPasskey(row) : undefined
    },

    async listForUser(userId: string): Promise<Passkey[]> {
      const rows = await db
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(toPasskey)
    },

    /**
     * Records a use: the new signature counter, only if it still moves forward (of two concurrent
     * sign-ins with one counter value, one wins), and the backup state the authenticator reports.
     */
    async recordUse(id: string, previousCounter: number, counter: number, backedUp: boolean, now: number): Promise<boolean> {
      const result = await db
        .updateTable('webauthn_credentials')
        .set({ counter, backed_up: backedUp ? 1 : 0, last_used_at: now })
        .where('id', '=', id)
        .where('counter', '=', previousCounter)
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    async remove(userId: string, id: string): Promise<Passkey | undefined> {
      const row = await db
        .deleteFrom('webauthn_credentials')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst()
      return row ? toPasskey(row) : undefined
    },

    async removeAllForUser(userId: string): Promise<number> {
      const result = await db.deleteFrom('webauthn_credentials').where('user_id', '=', userId).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
