/**
 * Sign-in through an upstream identity provider (a connection):
 *
 * - `POST /login/connections/:id`: the "Continue with …" button of the login page (anti-forgery
 *   checked); sends the browser to the upstream with PKCE, `state` and `nonce`.
 * - `GET /login/connections/:id/callback`: the redirect URI registered at the upstream. Only the
 *   browser that started the sign-in can finish it (its cookie); openid-client checks the answer.
 *   Then the upstream account signs in, is created just in time, or waits to be linked.
 *
 * Every refusal is a page and an audit event, never a 500.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { PageError } from '../../errors/oauth-error.js'
import { resolveFederatedIdentity } from '../../connections/federated-identities.js'
import { callbackUrl } from '../../connections/registry.js'
import { exchangeCode, UpstreamRefused, type ConfigurationFor } from '../../connections/upstream-client.js'
import { factorsOf, hasSecondFactor } from '../../factors/summary.js'
import type { Connection } from '../../model/connection.js'
import type { Interaction } from '../../model/interaction.js'
import { upstreamProfile } from '../../oauth/upstream.js'
import { startPendingLogin } from '../pending-login.js'
import { completeSignIn } from '../sign-in.js'
import { setPendingLinkCookie, startUpstreamLogin, takeUpstreamLogin } from '../upstream-login.js'
import { sendPage, type Views } from '../views/render.js'

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) })
const StartForm = Type.Object({
  interaction: Type.Optional(Type.String({ maxLength: 64 })),
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})
/** RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 `iss`; anything else the upstream adds is ignored. */
const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 1024 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: true },
)

const EXPIRED = new PageError(400, 'errors.signin_expired')

/** An enabled connection, or the page saying there is none. */
export async function enabledConnection(deps: Pick<Deps, 'repos'>, id: string): Promise<Connection> {
  const connection = await deps.repos.connections.find(id)
  if (!connection || connection.disabledAt !== null) throw new PageError(404, 'errors.connection_unavailable')
  return connection
}

export const connectionRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views; configurationFor: ConfigurationFor }> = async (
  app,
  { deps, views, configurationFor },
) => {
  async function liveInteraction(id: string | null | undefined): Promise<Interaction | null> {
    if (id === undefined || id === null || id === '') return null
    return (await deps.repos.interactions.findLive(id, deps.clock.now())) ?? null
  }

  app.post(
    '/login/connections/:id',
    { schema: { params: Params, body: StartForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const connection = await enabledConnection(deps, request.params.id)
      const interaction = await liveInteraction(request.body.interaction)
      if (request.body.interaction && !interaction) throw EXPIRED
      const url = await startUpstreamLogin(deps, configurationFor, reply, connection, {
        interactionId: interaction?.id ?? null,
        linkUserId: null,
        loginHint: interaction?.request.loginHint ?? null,
      })
      return reply.redirect(url, 303)
    },
  )

  function failed(request: FastifyRequest, connection: Connection, reason: string, userId?: string) {
    return deps.audit.record(
      'federated_login_failure',
      { userId, ip: request.ip, detail: { connection: connection.id, reason: reason.slice(0, 200) } },
      'federated sign-in failed',
    )
  }

  async function signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    connection: Connection,
    outcome: { user: Parameters<typeof completeSignIn>[3]['user']; amr: Parameters<typeof completeSignIn>[3]['amr'] },
    interaction: Interaction | null,
  ) {
    const { user, amr } = outcome
    // The upstream is the first factor: a second factor set up here is still asked for, unless
    // the upstream says it already did more than one (RFC 8176 `mfa`).
    if (!amr.includes('mfa') && hasSecondFactor(await factorsOf(deps, user.id))) {
      await startPendingLogin(deps, reply, { userId: user.id, amr, interactionId: interaction?.id ?? null, sessionIdHash: null })
      return reply.redirect('/login/second-factor', 303)
    }
    return reply.redirect(await completeSignIn(deps, request, reply, { user, amr, interaction, connection: connection.id }), 303)
  }

  app.get(
    '/login/connections/:id/callback',
    { schema: { params: Params, querystring: CallbackQuery }, config: { page: true } },
    async (request, reply) => {
      const login = await takeUpstreamLogin(deps, request, reply)
      if (!login || login.connectionId !== request.params.id) throw EXPIRED
      const connection = await enabledConnection(deps, login.connectionId)
      const query = request.url.slice(request.url.indexOf('?'))
      // Built from the configured issuer, never from request headers (docs/security.md §H).
      const current = new URL(callbackUrl(deps.config.issuer, connection.id) + (request.url.includes('?') ? query : ''))
      let answer
      try {
        answer = await exchangeCode(configurationFor(connection), connection, current, login)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        await failed(request, connection, error instanceof UpstreamRefused ? `upstream error ${error.code}` : reason)
        if (error instanceof UpstreamRefused && error.code === 'access_denied')
          throw new PageError(403, 'errors.connection_cancelled', { connection: connection.name })
        throw new PageError(502, 'errors.connection_unverified', { connection: connection.name })
      }
      const profile = upstreamProfile(connection.type, answer.claims, answer.extra, connection.claimMapping)
      if (profile === null) {
        await failed(request, connection, 'no subject in the upstream answer')
        throw new PageError(502, 'errors.connection_no_subject', { connection: connection.name })
      }
      const outcome = await resolveFederatedIdentity(deps, connection, profile, answer.tokens, login, request.ip)
      const interaction = await liveInteraction(login.interactionId)
      switch (outcome.kind) {
        case 'refused':
          await failed(request, connection, outcome.message)
          throw new PageError(403, `errors.federation_${outcome.reason}`, { connection: connection.name })
        case 'linked':
          return reply.redirect('/account?notice=identity-linked', 303)
        case 'link_required': {
          setPendingLinkCookie(deps, reply, outcome.linkToken)
          const login = interaction ? `/login?${new URLSearchParams({ interaction: interaction.id }).toString()}` : '/login'
          const words = pageWords(deps, request)
          const values = { connection: connection.name, email: outcome.email }
          const html = views.render(
            'message',
            {
              title: words.t('message.link_required.title', values),
              message: words.t('message.link_required.message', values),
              detail: words.t('message.link_required.detail'),
              link: { href: login, label: words.t('message.link_required.link') },
            },
            words.locale,
          )
          return sendPage(reply, html)
        }
        case 'sign_in':
          return signIn(request, reply, connection, outcome, interaction)
      }
    },
  )
}
