/**
 * Signup. The form may come from a parked authorization request (the login page links here with
 * its interaction) and leads back to signing in for it. The answer to a valid form is the same
 * page whether or not the email already has an account (see accounts/signup.ts).
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { MIN_PASSWORD_LENGTH, PASSWORD_LIMITS, SUGGESTED_PASSWORD_LENGTH } from '../../accounts/password-policy.js'
import { MAX_NAME_LENGTH, signUp, type SignupField, type SignupProblems } from '../../accounts/signup.js'
import type { Translator } from '../../i18n/translator.js'
import type { Deps } from '../../deps.js'
import { PageError } from '../../errors/oauth-error.js'
import { countRequest } from '../../throttle/guard.js'
import { emailQuota } from '../../throttle/rules.js'
import { readDeviceCookie, trustedDeviceFor } from '../device-cookie.js'
import { sendPage, type Views } from '../views/render.js'

/** Signup attempts per email address per 15 minutes (each one may send a mail to its owner). */
const SIGNUPS_PER_EMAIL = 5

const SignupQuery = Type.Object({ interaction: Type.Optional(Type.String({ maxLength: 64 })) })
const SignupForm = Type.Object({
  interaction: Type.Optional(Type.String({ maxLength: 64 })),
  name: Type.String({ maxLength: 1024 }),
  email: Type.String({ maxLength: 1024 }),
  password: Type.String({ maxLength: 4096 }),
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})

const NOT_AVAILABLE = new PageError(404, 'errors.signup_unavailable')

/** `/login` or `/login?interaction=…`, to return to the authorization the user came from. */
export const loginHref = (interaction: string | undefined): string =>
  interaction ? `/login?${new URLSearchParams({ interaction }).toString()}` : '/login'

export const signupHref = (interaction: string | undefined): string =>
  interaction ? `/signup?${new URLSearchParams({ interaction }).toString()}` : '/signup'

/** The form's problems in the page's words. */
function problemWords(words: Translator, problems: SignupProblems): Partial<Record<SignupField, string>> {
  return {
    ...(problems.name && { name: words.t(`signup.problem.name_${problems.name}`, { max: MAX_NAME_LENGTH }) }),
    ...(problems.email && { email: words.t(`signup.problem.email_${problems.email}`) }),
    ...(problems.password && { password: words.t(`password.problem.${problems.password}`, PASSWORD_LIMITS) }),
  }
}

export const signupRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** The application the signup is for; null for the account itself. */
  async function clientName(interactionId: string | undefined): Promise<string | null> {
    if (!interactionId) return null
    const interaction = await deps.repos.interactions.findLive(interactionId, deps.clock.now())
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    return client?.name ?? null
  }

  async function renderForm(
    reply: FastifyReply,
    input: { interaction?: string; name: string; email: string },
    problems: SignupProblems,
    status: number,
  ) {
    const words = pageWords(deps, reply.request)
    const html = views.render(
      'signup',
      {
        title: words.t('signup.title'),
        clientName: await clientName(input.interaction),
        csrfToken: reply.formToken(),
        interaction: input.interaction ?? '',
        name: input.name,
        email: input.email,
        problems: problemWords(words, problems),
        hasProblems: Object.keys(problems).length > 0,
        minLength: MIN_PASSWORD_LENGTH,
        suggestedLength: SUGGESTED_PASSWORD_LENGTH,
        loginHref: loginHref(input.interaction),
      },
      words.locale,
    )
    return sendPage(reply, html, status)
  }

  app.get('/signup', { schema: { querystring: SignupQuery }, config: { page: true } }, async (request, reply) => {
    if (deps.config.signup === 'off') throw NOT_AVAILABLE
    return renderForm(reply, { interaction: request.query.interaction, name: '', email: '' }, {}, 200)
  })

  app.post(
    '/signup',
    {
      schema: { body: SignupForm },
      config: { page: true, rateLimit: { max: deps.config.signupRateLimit, timeWindow: 10 * 60_000 } },
      preHandler: app.formGuards,
    },
    async (request, reply) => {
      if (deps.config.signup === 'off') throw NOT_AVAILABLE
      const { name, email, password, interaction } = request.body
      // Per-address quota (the email as typed, known or not, so a 429 reveals nothing); the owner's
      // own browser has a quota of its own.
      const device = trustedDeviceFor(readDeviceCookie(request, deps.config.issuerIsHttps), email)
      await countRequest(deps, emailQuota('signup-email', SIGNUPS_PER_EMAIL, email, device), request.ip)
      // The page's language becomes the new user's saved choice.
      const locale = request.locale ?? deps.i18n.defaultLocale
      const result = await signUp(deps, { name, email, password, locale })
      if (!result.ok) return renderForm(reply, { interaction, name: name.slice(0, 200), email: email.slice(0, 320) }, result.problems, 400)
      const words = deps.i18n.translator(locale)
      const html = views.render(
        'message',
        {
          title: words.t('signup.done.title'),
          message: words.t('signup.done.message'),
          detail: words.t('signup.done.detail'),
          link: { href: loginHref(interaction), label: words.t('signup.done.link') },
        },
        words.locale,
      )
      return sendPage(reply, html)
    },
  )
}
