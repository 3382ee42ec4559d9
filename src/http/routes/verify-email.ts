/**
 * The mailed verification link. The token is used at once (a mail scanner following the link
 * only proves what the link proves: the mailbox got it) and then redirected out of the URL.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { verifyEmail } from '../../accounts/email-verification.js'
import type { Deps } from '../../deps.js'
import { sendPage, type Views } from '../views/render.js'

const VerifyQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 128 })),
  status: Type.Optional(Type.Union([Type.Literal('verified'), Type.Literal('invalid')])),
})

export const verifyEmailRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  app.get('/verify-email', { schema: { querystring: VerifyQuery }, config: { page: true } }, async (request, reply) => {
    const { token, status } = request.query
    if (token !== undefined) {
      const userId = await verifyEmail(deps, token)
      return reply.redirect(`/verify-email?status=${userId === undefined ? 'invalid' : 'verified'}`, 303)
    }
    const words = pageWords(deps, request)
    const toAccount = { href: '/account', label: words.t('message.go_to_account') }
    if (status === 'verified') {
      return sendPage(
        reply,
        views.render(
          'message',
          { title: words.t('message.email_verified.title'), message: words.t('message.email_verified.message'), link: toAccount },
          words.locale,
        ),
      )
    }
    const html = views.render(
      'message',
      {
        title: words.t('message.email_link_invalid.title'),
        message: words.t('message.email_link_invalid.message'),
        detail: words.t('message.email_link_invalid.detail'),
        link: toAccount,
      },
      words.locale,
    )
    return sendPage(reply, html, 400)
  })
}
