/**
 * Signup. The form may come from a parked authorization request (the login page links here with
 * its interaction) and leads back to signing in for it. The answer to a valid form is the same
 * page whether or not the email already has an account (see accounts/signup.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { MIN_PASSWORD_LENGTH, SUGGESTED_PASSWORD_LENGTH } from '../../accounts/password-policy.js'
import { signUp, type SignupField } from '../../accounts/signup.js'
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

const NOT_AVAILABLE = new PageError(404, 'Signup is not available', 'Ask your administrator for an account.')

/** `/login` or `/login?interaction=…`, to return to the authorization the user came from. */
export const loginHref = (interaction: string | undefined): string =>
  interaction ? `/login?${new URLSearchParams({ interaction }).toString()}` : '/login'

export const signupHref = (interaction: string | undefined): string =>
  interaction ? `/signup?${new URLSearchParams({ interaction }).toString()}` : '/signup'

export const signupRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  async function clientName(interactionId: string | undefined): Promise<string> {
    if (!interactionId) return 'your account'
    const interaction = await deps.repos.interactions.findLive(interactionId, deps.clock.now())
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    return client?.name ?? 'your account'
  }

  async function renderForm(
    reply: FastifyReply,
    input: { interaction?: string; name: string; email: string },
    problems: Partial<Record<SignupField, string>>,
    status: number,
  ) {
    const html = views.render('signup', {
      title: 'Create your account',
      clientName: await clientName(input.interaction),
      csrfToken: reply.formToken(),
      interaction: input.interaction ?? '',
      name: input.name,
      email: input.email,
      problems,
      hasProblems: Object.keys(problems).length > 0,
      minLength: MIN_PASSWORD_LENGTH,
      suggestedLength: SUGGESTED_PASSWORD_LENGTH,
      loginHref: loginHref(input.interaction),
    })
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
      const result = await signUp(deps, { name, email, password })
      if (!result.ok) return renderForm(reply, { interaction, name: name.slice(0, 200), email: email.slice(0, 320) }, result.problems, 400)
      const html = views.render('message', {
        title: 'Check your email',
        message: 'We sent a message to the address you entered. Follow the link in it to confirm your address.',
        detail: 'You can sign in now with the email and password you chose.',
        link: { href: loginHref(interaction), label: 'Continue to sign in' },
      })
      return sendPage(reply, html)
    },
  )
}
