/**
 * The account page: who is signed in, which third-party applications were authorised (with a
 * revoke button each: their tokens die and consent is asked again), and a sign-out button.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { describeScopes } from '../../oauth/consent.js'
import { currentSession } from '../session-cookie.js'
import type { Views } from '../views/render.js'

const RevokeForm = Type.Object({ client_id: Type.String({ maxLength: 200 }), _csrf: Type.Optional(Type.String({ maxLength: 256 })) })

export const accountRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  app.get('/account', { config: { page: true } }, async (request, reply) => {
    const session = await currentSession(deps, request)
    if (!session) return reply.redirect('/login', 303)
    const user = await deps.repos.users.findById(session.userId)
    if (!user) return reply.redirect('/login', 303)
    const consents = await deps.repos.consents.listForUser(user.id)
    const applications = []
    for (const consent of consents) {
      const client = await deps.repos.clients.find(consent.clientId)
      if (client) applications.push({ clientId: client.id, name: client.name, scopes: describeScopes(consent.scope), since: new Date(consent.updatedAt * 1000).toISOString().slice(0, 10) })
    }
    const html = views.render('account', { title: 'Your account', email: user.email, name: user.name ?? '', applications, csrfToken: reply.formToken() })
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
  })

  app.post('/account/applications/revoke', { schema: { body: RevokeForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const session = await currentSession(deps, request)
    if (!session) return reply.redirect('/login', 303)
    const now = deps.clock.now()
    await deps.repos.consents.revoke(session.userId, request.body.client_id)
    await deps.repos.grants.revokeForUserAndClient(session.userId, request.body.client_id, now)
    request.log.info({ event: 'revocation', kind: 'application', userId: session.userId, clientId: request.body.client_id }, 'user revoked an application')
    return reply.redirect('/account', 303)
  })
}
