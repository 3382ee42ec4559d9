import type { Db } from '../connect.js'

export interface AuditEvent {
  readonly id: string
  readonly at: number
  readonly type: string
  readonly userId: string | null
  readonly clientId: string | null
  readonly ip: string | null
  readonly detail: Readonly<Record<string, unknown>>
}

export interface AuditQuery {
  readonly since?: number
  readonly userId?: string
  readonly type?: string
  /** Only events after this one in the list's order (older, or as old with a greater id): the next page. */
  readonly after?: Pick<AuditEvent, 'at' | 'id'>
  readonly limit: number
}

export function auditEventsRepository(db: Db) {
  return {
    async insert(event: AuditEvent): Promise<void> {
      await db
        .insertInto('audit_events')
        .values({
          id: event.id,
          at: event.at,
          type: event.type,
          user_id: event.userId,
          client_id: event.clientId,
          ip: event.ip,
          detail: JSON.stringify(event.detail),
        })
        .execute()
    },

    /** Newest first (ties by id), so that `after` (the last event of a page) continues exactly. */
    async list(query: AuditQuery): Promise<AuditEvent[]> {
      let select = db.selectFrom('audit_events').selectAll()
      if (query.since !== undefined) select = select.where('at', '>=', query.since)
      const after = query.after
      if (after !== undefined)
        select = select.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '>', after.id)])]))
      if (query.userId !== undefined) select = select.where('user_id', '=', query.userId)
      if (query.type !== undefined) select = select.where('type', '=', query.type)
      const rows = await select.orderBy('at', 'desc').orderBy('id').limit(query.limit).execute()
      return rows.map((row) => ({
        id: row.id,
        at: row.at,
        type: row.type,
        userId: row.user_id,
        clientId: row.client_id,
        ip: row.ip,
        detail: JSON.parse(row.detail) as Record<string, unknown>,
      }))
    },

    async deleteOlderThan(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('audit_events').where('at', '<', cutoff).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type AuditEventsRepository = ReturnType<typeof auditEventsRepository>
