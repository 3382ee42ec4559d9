/**
 * The mailed verification link. The token is used at once (a mail scanner following the link
 * only proves what the link proves: the mailbox got it) and then redirected out of the URL.
 */
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
    if (status === 'verified') {
      return sendPage(
        reply,
        views.render('message', {
          title: 'Email address confirmed',
          message: 'Thank you: your email address is verified.',
          link: { href: '/account', label: 'Go to your account' },
        }),
      )
    }
    const html = views.render('message', {
      title: 'This link does not work',
      message: 'The verification link was already used, was replaced by a newer one, or is too old.',
      detail: 'If your address is not verified yet, sign in and send a new link from your account page.',
      link: { href: '/account', label: 'Go to your account' },
    })
    return sendPage(reply, html, 400)
  })
}
