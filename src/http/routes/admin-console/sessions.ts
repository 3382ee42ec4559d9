/**
 * Ending a user's sessions from their page in the console: one (by its public handle, as the
 * account page does) or all of them. Each ends as a logout would (sessions/end-session.ts: its
 * grants and tokens revoked, its relying parties sent logout tokens) and is audited with the
 * admin as actor. Ending the admin's own current session signs this browser out.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import { endSessionsByOperator } from '../../../sessions/end-session.js'
import { endUserSession, UnknownSession } from '../../../sessions/user-sessions.js'
import { clearSessionCookie } from '../../session-cookie.js'
import type { Views } from '../../views/render.js'
import { adminOf, CsrfForm, csrfFields, IdParams, userHref, withNotice } from './support.js'

const EndSessionForm = Type.Object({ handle: Type.String({ minLength: 1, maxLength: 64 }), ...csrfFields })

const NOT_FOUND = new PageError(404, 'errors.console_no_user')

export const sessionActions: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps }) => {
  async function userOf(id: string) {
    const user = await deps.repos.users.findById(id)
    if (!user) throw NOT_FOUND
    return user
  }

  app.post(
    '/admin/users/:id/sessions/end',
    { schema: { params: IdParams, body: EndSessionForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const admin = adminOf(request)
      const user = await userOf(request.params.id)
      const { handle } = request.body
      try {
        await endUserSession(deps, user.id, handle, admin.actor)
      } catch (error) {
        // Ended already (by its user, an expiry or another admin): the page says so all the same.
        if (!(error instanceof UnknownSession)) throw error
      }
      if (user.id === admin.user.id && handle === admin.session.handle) {
        clearSessionCookie(deps, reply)
        return reply.redirect('/login', 303)
      }
      return withNotice(reply, userHref(user.id), 'session-ended')
    },
  )

  app.post(
    '/admin/users/:id/sessions/end-all',
    { schema: { params: IdParams, body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const admin = adminOf(request)
      const user = await userOf(request.params.id)
      // The admin's own browser keeps its session: they end it with "Sign out" or on its own row.
      const except = user.id === admin.user.id ? admin.session.idHash : undefined
      await endSessionsByOperator(deps, { userId: user.id, actor: admin.actor, ip: request.ip, exceptIdHash: except })
      return withNotice(reply, userHref(user.id), 'sessions-ended')
    },
  )
}
