/**
 * Forgot password and reset. `/forgot-password` answers the same, at once, for every email (the
 * lookup happens in the mail job). The mailed link `/reset-password?token=…` moves the token into
 * a short-lived cookie and redirects it out of the URL; the form then sets the new password.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { completePasswordReset, requestPasswordReset, resetTokenIsLive } from '../../accounts/password-reset.js'
import { MIN_PASSWORD_LENGTH, PASSWORD_LIMITS, SUGGESTED_PASSWORD_LENGTH } from '../../accounts/password-policy.js'
import { normaliseEmail } from '../../accounts/email-address.js'
import type { Deps } from '../../deps.js'
import { clearResetToken, stashResetToken, stashedResetToken } from '../link-token.js'
import { clearSessionCookie } from '../session-cookie.js'
import { readDeviceCookie, trustedDeviceFor } from '../device-cookie.js'
import { assertNotBlocked, countRequest, recordFailures } from '../../throttle/guard.js'
import { emailQuota, resetLinkRules } from '../../throttle/rules.js'
import { sendPage, type Views } from '../views/render.js'
import { AnyQuery } from '../schemas.js'
import { hashSecret } from '../../secrets.js'

const ForgotForm = Type.Object({ email: Type.String({ maxLength: 1024 }), _csrf: Type.Optional(Type.String({ maxLength: 256 })) })
const ResetQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) })
const ResetForm = Type.Object({
  password: Type.String({ maxLength: 4096 }),
  password_confirm: Type.String({ maxLength: 4096 }),
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})

export const passwordResetRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  const https = deps.config.issuerIsHttps
  const wordsFor = (request: FastifyRequest) => pageWords(deps, request)

  app.get('/forgot-password', { schema: { querystring: AnyQuery }, config: { page: true } }, async (request, reply) => {
    const words = wordsFor(request)
    return sendPage(
      reply,
      views.render('forgot-password', { title: words.t('password.forgot.title'), csrfToken: reply.formToken() }, words.locale),
    )
  })

  app.post(
    '/forgot-password',
    {
      schema: { body: ForgotForm },
      config: { page: true, rateLimit: { max: deps.config.forgotPasswordRateLimit, timeWindow: 10 * 60_000 } },
      preHandler: app.formGuards,
    },
    async (request, reply) => {
      const email = normaliseEmail(request.body.email)
      const device = trustedDeviceFor(readDeviceCookie(request, https), email)
      await countRequest(deps, emailQuota('forgot-email', deps.config.forgotPasswordAccountRateLimit, email, device), request.ip)
      if (email !== '' && email.length <= 320) await requestPasswordReset(deps, email, request.locale ?? undefined)
      const words = wordsFor(request)
      const html = views.render(
        'message',
        {
          title: words.t('password.sent.title'),
          message: words.t('password.sent.message'),
          detail: words.t('password.sent.detail', { minutes: Math.round(deps.config.passwordResetTtl / 60) }),
          link: { href: '/login', label: words.t('password.back_to_sign_in') },
        },
        words.locale,
      )
      return sendPage(reply, html)
    },
  )

  const expiredPage = (reply: FastifyReply) => {
    const words = wordsFor(reply.request)
    return sendPage(
      reply,
      views.render(
        'message',
        {
          title: words.t('password.expired.title'),
          message: words.t('password.expired.message'),
          link: { href: '/forgot-password', label: words.t('password.expired.link') },
        },
        words.locale,
      ),
      400,
    )
  }

  /** The address of the account a live reset link is for: the form names it for password managers. */
  const accountEmail = async (token: string): Promise<string | null> => {
    const userId = await deps.repos.accountTokens.findLive(hashSecret(token), 'reset_password', deps.clock.now())
    return userId === undefined ? null : ((await deps.repos.users.findById(userId))?.email ?? null)
  }

  /** The form, with a problem to show (a message key, said with the password limits) or none. */
  const renderForm = async (reply: FastifyReply, token: string, problemKey: string | null, status: number) => {
    const words = wordsFor(reply.request)
    return sendPage(
      reply,
      views.render(
        'reset-password',
        {
          title: words.t('password.reset.title'),
          csrfToken: reply.formToken(),
          email: await accountEmail(token),
          problem: problemKey === null ? null : words.t(problemKey, PASSWORD_LIMITS),
          minLength: MIN_PASSWORD_LENGTH,
          suggestedLength: SUGGESTED_PASSWORD_LENGTH,
        },
        words.locale,
      ),
      status,
    )
  }

  app.get('/reset-password', { schema: { querystring: ResetQuery }, config: { page: true } }, async (request, reply) => {
    if (request.query.token !== undefined) {
      stashResetToken(reply, https, request.query.token, deps.config.passwordResetTtl)
      return reply.redirect('/reset-password', 303)
    }
    const token = stashedResetToken(request, https)
    if (token === undefined || !(await resetTokenIsLive(deps, token))) return expiredPage(reply)
    return renderForm(reply, token, null, 200)
  })

  app.post(
    '/reset-password',
    {
      schema: { body: ResetForm },
      config: { page: true, rateLimit: { max: deps.config.forgotPasswordRateLimit, timeWindow: 10 * 60_000 } },
      preHandler: app.formGuards,
    },
    async (request, reply) => {
      // Dead or made-up reset tokens are failures counted per address (a token cannot be guessed,
      // but trying costs a password hash each time).
      const throttle = resetLinkRules(deps.config, request.ip)
      await assertNotBlocked(deps, throttle, request.ip)
      const expired = async () => {
        await recordFailures(deps, throttle)
        return expiredPage(reply)
      }
      const token = stashedResetToken(request, https)
      if (token === undefined) return expired()
      const { password, password_confirm: confirmation } = request.body
      if (password !== confirmation) {
        return (await resetTokenIsLive(deps, token)) ? renderForm(reply, token, 'password.reset.mismatch', 400) : expired()
      }
      const result = await completePasswordReset(deps, token, password)
      if (!result.ok) return result.reason === 'expired' ? expired() : renderForm(reply, token, `password.problem.${result.problem}`, 400)
      clearResetToken(reply, https)
      // Every session of the user ended, this browser's included; its cookie goes too.
      clearSessionCookie(deps, reply)
      const words = wordsFor(request)
      const html = views.render(
        'message',
        {
          title: words.t('password.changed.title'),
          message: words.t('password.changed.message'),
          link: { href: '/login', label: words.t('password.changed.link') },
        },
        words.locale,
      )
      return sendPage(reply, html)
    },
  )
}
