/**
 * /admin/api/v1/users/{user_id}/sessions: a user's live login sessions, and ending one through
 * sessions/user-sessions.ts (end-session.ts: its grants are revoked, its relying parties get
 * back-channel logout tokens, the browser has to sign in again).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { findUser } from '../../../accounts/lifecycle.js'
import type { Deps } from '../../../deps.js'
import { endUserSession, listUserSessions } from '../../../sessions/user-sessions.js'
import { callerOf } from './caller.js'
import { DEFAULT_LIMIT, decodeCursor, PageQuery, pageOfList } from './pagination.js'
import { adminRoute, iso, NoContent, PageOf, Timestamp } from './schemas.js'

const TAGS = ['Sessions']

const SessionSchema = Type.Object({
  id: Type.String({ description: 'The session’s public reference (the one the account page uses)' }),
  sid: Type.String({ description: 'The `sid` of ID tokens and logout tokens issued in it' }),
  created_at: Timestamp('When the session began'),
  last_seen_at: Timestamp('When it was last used'),
  expires_at: Timestamp('Its absolute end'),
  auth_time: Timestamp('When the user last authenticated in it'),
  amr: Type.Array(Type.String(), { description: 'How (RFC 8176)' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
})

const UserParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 100 }) })

export const sessionRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    '/users/:user_id/sessions',
    adminRoute(
      'admin:read',
      { operationId: 'listUserSessions', summary: "A user's live sessions, oldest first", tags: TAGS, problems: [404] },
      {
        params: UserParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(SessionSchema, 'A page of sessions') },
      },
    ),
    async (request) => {
      const user = await findUser(deps, request.params.user_id)
      // Sessions from before the handle column have no public reference: they cannot be named, and expire soon.
      const sessions = (await listUserSessions(deps, user.id)).flatMap((session) =>
        session.handle === null ? [] : [{ ...session, handle: session.handle }],
      )
      const limit = request.query.limit ?? DEFAULT_LIMIT
      const page = pageOfList(
        sessions,
        limit,
        (session) => [session.createdAt, session.handle],
        decodeCursor(request.query.cursor, ['number', 'string'] as const),
      )
      return {
        items: page.items.map((session) => ({
          id: session.handle,
          sid: session.sid,
          created_at: iso(session.createdAt),
          last_seen_at: iso(session.lastSeenAt),
          expires_at: iso(session.expiresAt),
          auth_time: iso(session.authTime),
          amr: [...session.amr],
          user_agent: session.userAgent,
        })),
        next_cursor: page.nextCursor,
      }
    },
  )

  app.delete(
    '/users/:user_id/sessions/:session_id',
    adminRoute(
      'admin:write',
      {
        operationId: 'endUserSession',
        summary: 'End a session as a logout would: its grants are revoked and its relying parties told',
        tags: TAGS,
        problems: [404],
      },
      {
        params: Type.Object({ user_id: UserParams.properties.user_id, session_id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: NoContent },
      },
    ),
    async (request, reply) => {
      await endUserSession(deps, request.params.user_id, request.params.session_id, callerOf(request).actor)
      return reply.code(204).send(null)
    },
  )
}
