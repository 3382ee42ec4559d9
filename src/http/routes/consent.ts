/**
 * The consent page for third-party clients: the client's name and the requested scopes in plain
 * words. Approval is remembered per user, client and scopes; denial answers access_denied.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { consentItems, describeScopes } from '../../oauth/consent.js'
import { clientView } from '../client-view.js'
import { accessDeniedUrl, issueAuthorizationCode } from '../authorization.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { currentSession } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'
import { EXPIRED_PAGE } from './login.js'
import { readOnce } from '../page-reads.js'

const ConsentQuery = Type.Object({ interaction: Type.String({ maxLength: 64 }) })
const ConsentForm = Type.Object({
  interaction: Type.String({ maxLength: 64 }),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  // Optional in the schema so a missing token reaches the anti-forgery check (403), not validation (400).
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})

export const consentRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** The interaction, its client and the session it was authenticated by — which must be this browser's. */
  async function load(request: FastifyRequest, interactionId: string) {
    const interaction = await readOnce(request, 'interaction', interactionId, () =>
      deps.repos.interactions.findLive(interactionId, deps.clock.now()),
    )
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    if (!interaction || !client || client.firstParty || interaction.sessionIdHash === null) throw EXPIRED_PAGE
    const session = await currentSession(deps, request)
    if (!session || session.idHash !== interaction.sessionIdHash) throw EXPIRED_PAGE
    return { interaction, client, session }
  }

  app.get('/consent', { schema: { querystring: ConsentQuery }, config: { page: true } }, async (request, reply) => {
    const { interaction, client, session } = await load(request, request.query.interaction)
    const user = await readOnce(request, 'user', session.userId, () => deps.repos.users.findById(session.userId))
    const apis = [...(await deps.repos.apis.findMany(interaction.request.resources)).values()]
    const apiScopes = new Map(apis.flatMap((api) => api.scopes.map((scope) => [scope.name, `${api.name}: ${scope.description}`] as const)))
    const words = pageWords(deps, request)
    const html = views.render(
      'consent',
      {
        title: words.t('consent.title'),
        client: await clientView(deps, client, interaction.request.redirectUri),
        userEmail: user?.email ?? '',
        scopes: describeScopes(interaction.request.scope, apiScopes, words.t),
        apis: apis.map((api) => api.name),
        selfRegistered: client.registration !== 'cli',
        // A metadata-document client is whoever controls that URL: name it.
        describedAt: client.registration === 'metadata_document' ? new URL(client.id).host : '',
        interaction: interaction.id,
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    allowFormRedirects(reply, [interaction.request.redirectUri])
    return sendPage(reply, html)
  })

  app.post('/consent', { schema: { body: ConsentForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const { interaction, session } = await load(request, request.body.interaction)
    await deps.repos.interactions.remove(interaction.id)
    const { request: authRequest } = interaction
    if (request.body.decision === 'deny') {
      request.log.info({ event: 'consent_denied', clientId: authRequest.clientId, userId: session.userId }, 'consent denied')
      return reply.redirect(accessDeniedUrl(deps, authRequest), 303)
    }
    await deps.repos.consents.grant(
      session.userId,
      authRequest.clientId,
      consentItems(authRequest.scope, authRequest.resources),
      deps.clock.now(),
    )
    request.log.info({ event: 'consent_granted', clientId: authRequest.clientId, userId: session.userId }, 'consent granted')
    return reply.redirect(await issueAuthorizationCode(deps, authRequest, session), 303)
  })
}
