/**
 * /admin/api/v1/audit-events: the security events (the ones `idp audit` lists), newest first,
 * filtered by type, user and time, paginated with a cursor. Kept AUDIT_RETENTION.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import { Problem } from '../../../errors/problem.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageFrom } from './pagination.js'
import { adminRoute, iso, PageOf, Timestamp } from './schemas.js'

const EventSchema = Type.Object({
  id: Type.String(),
  at: Timestamp('When it happened'),
  type: Type.String({ description: 'login_failure, client_registered, key_rotation, …' }),
  user_id: Type.Union([Type.String(), Type.Null()]),
  client_id: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Object({}, { additionalProperties: true, description: 'Small facts (identifiers only); `actor` names who made a change' }),
})

/** RFC 3339 date-time with a zone (`2026-12-07T10:00:00Z`, `…+01:00`). */
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|z|[+-]\\d{2}:\\d{2})$'

const AuditQuery = Type.Object(
  {
    ...PageQuery,
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z_]+$', description: 'Only events of this type' })),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only events of this user' })),
    since: Type.Optional(Type.String({ maxLength: 40, pattern: RFC3339, description: 'Only events at or after this time (RFC 3339)' })),
  },
  { additionalProperties: false },
)

/** Epoch seconds of an RFC 3339 time (the pattern has checked its form; the calendar is checked here). */
function sinceSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const ms = Date.parse(raw)
  if (Number.isNaN(ms))
    throw new Problem(400, 'validation-error', 'since is not a valid time', {
      errors: [{ parameter: 'since', detail: 'not a valid date-time' }],
    })
  return Math.floor(ms / 1000)
}

export const auditRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    '/audit-events',
    adminRoute(
      'admin:read',
      { operationId: 'listAuditEvents', summary: 'Security events, newest first, filtered by type, user and time', tags: ['Audit'] },
      { querystring: AuditQuery, response: { 200: PageOf(EventSchema, 'A page of security events') } },
    ),
    async (request) => {
      const { type, user_id: userId, since, cursor } = request.query
      const limit = request.query.limit ?? DEFAULT_LIMIT
      const after = decodeCursor(cursor, ['number', 'string'] as const)
      const from = sinceSeconds(since)
      const fetched = await deps.repos.auditEvents.list({
        limit: limit + 1,
        ...(type !== undefined ? { type } : {}),
        ...(userId !== undefined ? { userId } : {}),
        ...(from !== undefined ? { since: from } : {}),
        ...(after !== undefined ? { after: { at: after[0], id: after[1] } } : {}),
      })
      const page = pageFrom(fetched, limit, (event) => [event.at, event.id])
      return {
        items: page.items.map((event) => ({
          id: event.id,
          at: iso(event.at),
          type: event.type,
          user_id: event.userId,
          client_id: event.clientId,
          ip: event.ip,
          detail: { ...event.detail },
        })),
        next_cursor: page.nextCursor,
      }
    },
  )
}
