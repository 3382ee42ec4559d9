/** Event webhooks (few rows; the enabled ones are read by every instance, cached briefly). */
import type { Db } from '../connect.js'
import type { Webhook } from '../../model/webhook.js'
import type { WebhooksTable } from '../schema.js'

const toWebhook = (row: WebhooksTable): Webhook => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as string[],
  sealedSecret: row.secret,
  disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  createdAt: Number(row.created_at),
})

export function webhooksRepository(db: Db) {
  return {
    async insert(webhook: Webhook): Promise<void> {
      await db
        .insertInto('webhooks')
        .values({
          id: webhook.id,
          url: webhook.url,
          events: JSON.stringify(webhook.events),
          secret: webhook.sealedSecret,
          disabled_at: webhook.disabledAt,
          created_at: webhook.createdAt,
        })
        .execute()
    },

    async find(id: string): Promise<Webhook | undefined> {
      const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toWebhook(row) : undefined
    },

    async list(): Promise<Webhook[]> {
      const rows = await db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()
      return rows.map(toWebhook)
    },

    /** The webhooks events go to (the publisher's cache). */
    async listEnabled(): Promise<Webhook[]> {
      const rows = await db.selectFrom('webhooks').selectAll().where('disabled_at', 'is', null).orderBy('id').execute()
      return rows.map(toWebhook)
    },

    async setDisabled(id: string, disabledAt: number | null): Promise<boolean> {
      const result = await db.updateTable('webhooks').set({ disabled_at: disabledAt }).where('id', '=', id).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}
