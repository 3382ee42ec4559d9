/**
 * Linked identities on the account page (registered inside the account scope, whose preHandler
 * has loaded the signed-in user): link an upstream account (after a recent sign-in, so a stolen
 * session cannot add its own way in) and unlink one, unless it is the last way to sign in.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { unlinkIdentity } from '../../connections/federated-identities.js'
import type { ConfigurationFor } from '../../connections/upstream-client.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import { staleSignInPage } from '../recent-sign-in.js'
import { startUpstreamLogin } from '../upstream-login.js'
import { sendPage, type Views } from '../views/render.js'
import { enabledConnection } from './connections.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const LinkParams = Type.Object({ id: Type.String({ maxLength: 64 }) })
const UnlinkForm = Type.Object({ identity: Type.String({ maxLength: 64 }), ...Csrf })
const EmptyForm = Type.Object({ ...Csrf })

export const accountConnectionRoutes: FastifyPluginAsyncTypebox<{
  deps: Deps
  views: Views
  configurationFor: ConfigurationFor
  signedIn: (request: FastifyRequest) => { session: LoginSession; user: User }
}> = async (app, { deps, views, configurationFor, signedIn }) => {
  app.post(
    '/account/connections/:id/link',
    { schema: { params: LinkParams, body: EmptyForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const stale = staleSignInPage(deps, views, reply, session)
      if (stale) return stale
      const connection = await enabledConnection(deps, request.params.id)
      const url = await startUpstreamLogin(deps, configurationFor, reply, connection, {
        interactionId: null,
        linkUserId: user.id,
        loginHint: null,
      })
      return reply.redirect(url, 303)
    },
  )

  app.post(
    '/account/connections/unlink',
    { schema: { body: UnlinkForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const stale = staleSignInPage(deps, views, reply, session)
      if (stale) return stale
      const result = await unlinkIdentity(deps, user, request.body.identity, request.ip)
      if (!result.ok) {
        const words = pageWords(deps, request)
        const html = views.render(
          'message',
          {
            title: words.t('message.unlink_failed.title'),
            message: words.t(result.problem === 'last_method' ? 'message.unlink_last_method' : 'message.unlink_not_linked'),
            link: { href: '/account', label: words.t('message.back_to_account') },
          },
          words.locale,
        )
        return sendPage(reply, html, 400)
      }
      return reply.redirect('/account?notice=identity-unlinked', 303)
    },
  )
}
