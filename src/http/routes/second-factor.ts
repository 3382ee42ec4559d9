/**
 * Second factors at sign-in and passkey sign-in (docs/security.md §I):
 *
 * - `/login/second-factor`: after the password (or for a session stepping up to a stronger acr),
 *   a code from an authenticator app or a recovery code in the field `code`, or a passkey;
 *   failures are throttled per account and device (never locking out a trusted browser).
 * - `/login/passkey`: passwordless sign-in with a discoverable passkey and user verification.
 * - `/login/passkey/options`: the WebAuthn options (and single-use challenge) for either.
 *
 * Every refusal is a page (or a JSON error for the options), audited, never a 500.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { authenticationOptions, PasskeyRejected, verifyPasskey } from '../../factors/passkeys.js'
import { useRecoveryCode } from '../../factors/recovery-codes.js'
import { factorsOf } from '../../factors/summary.js'
import { verifyTotp } from '../../factors/totp.js'
import type { AuthenticationMethod } from '../../model/authentication.js'
import type { PendingLogin } from '../../model/factors.js'
import type { Interaction } from '../../model/interaction.js'
import { addMethods } from '../../oauth/acr.js'
import { assertNotBlocked, recordFailures } from '../../throttle/guard.js'
import { passkeyLoginRules, secondFactorRules } from '../../throttle/rules.js'
import { readDeviceCookie, trustedDeviceFor } from '../device-cookie.js'
import { clearPendingLogin, currentPendingLogin } from '../pending-login.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { currentSession } from '../session-cookie.js'
import { completeSignIn } from '../sign-in.js'
import { sendPage, type Views } from '../views/render.js'
import { EXPIRED_PAGE, PASSKEY_SCRIPTS } from './login.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const SecondFactorForm = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 64 })),
  credential: Type.Optional(Type.String({ maxLength: 16384 })),
  ...Csrf,
})
const PasskeyLoginForm = Type.Object({
  interaction: Type.Optional(Type.String({ maxLength: 64 })),
  credential: Type.String({ maxLength: 16384 }),
  ...Csrf,
})
const OptionsForm = Type.Object({ purpose: Type.Union([Type.Literal('login'), Type.Literal('second-factor')]), ...Csrf })

const WRONG_CODE = 'That code did not work. Enter the current code from your authenticator app, or an unused recovery code.'
const PASSKEY_FAILED = 'That passkey did not work. Try again, or use another way to sign in.'

export const secondFactorRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  const https = deps.config.issuerIsHttps

  async function interactionOf(id: string | null | undefined): Promise<Interaction | null> {
    if (id === null || id === undefined || id === '') return null
    const interaction = await deps.repos.interactions.findLive(id, deps.clock.now())
    if (!interaction) throw EXPIRED_PAGE
    return interaction
  }

  /** The pending sign-in of this browser, its user (still active) and the request it serves. */
  async function loadPending(request: FastifyRequest) {
    const pending = await currentPendingLogin(deps, request)
    const user = pending ? await deps.repos.users.findById(pending.userId) : undefined
    if (!pending || !user || user.disabledAt !== null) throw EXPIRED_PAGE
    return { pending, user, interaction: await interactionOf(pending.interactionId) }
  }

  async function renderSecondFactor(
    reply: FastifyReply,
    pending: PendingLogin,
    interaction: Interaction | null,
    status: number,
    error: string | null,
  ) {
    const factors = await factorsOf(deps, pending.userId)
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    const html = views.render('second-factor', {
      title: 'Confirm it is you',
      clientName: client?.name ?? null,
      stepUp: pending.sessionIdHash !== null,
      hasCode: factors.totp || factors.recoveryCodes > 0,
      hasAuthenticatorApp: factors.totp,
      hasPasskey: factors.passkeys > 0,
      error,
      csrfToken: reply.formToken(),
      scripts: PASSKEY_SCRIPTS,
    })
    allowFormRedirects(reply, [interaction?.request.redirectUri])
    return sendPage(reply, html, status)
  }

  app.get('/login/second-factor', { schema: { querystring: Type.Object({}) }, config: { page: true } }, async (request, reply) => {
    const { pending, interaction } = await loadPending(request)
    return renderSecondFactor(reply, pending, interaction, 200, null)
  })

  app.post(
    '/login/second-factor',
    { schema: { body: SecondFactorForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { pending, user, interaction } = await loadPending(request)
      const throttle = secondFactorRules(deps.config, user.id, request.ip, trustedDeviceFor(readDeviceCookie(request, https), user.email))
      await assertNotBlocked(deps, throttle, request.ip)
      const { code, credential } = request.body
      let methods: AuthenticationMethod[] | null = null
      let problem = WRONG_CODE
      if (credential !== undefined && credential !== '') {
        problem = PASSKEY_FAILED
        try {
          methods = (await verifyPasskey(deps, credential, user.id)).methods
        } catch (error) {
          if (!(error instanceof PasskeyRejected)) throw error
          await deps.audit.record(
            'passkey_failure',
            { userId: user.id, ip: request.ip, detail: { reason: error.reason, stage: 'second_factor' } },
            'passkey refused',
          )
        }
      } else if (code !== undefined && code.trim() !== '') {
        if ((await verifyTotp(deps, user.id, code)) || (await useRecoveryCode(deps, user, code))) methods = ['otp']
      }
      if (methods === null) {
        await deps.audit.record('second_factor_failure', { userId: user.id, ip: request.ip }, 'second factor refused')
        await recordFailures(deps, throttle)
        return renderSecondFactor(reply, pending, interaction, 401, problem)
      }
      // Single use: of two tabs finishing one sign-in, one wins.
      if (!(await deps.repos.pendingLogins.remove(pending.idHash))) throw EXPIRED_PAGE
      clearPendingLogin(deps, reply)
      if (pending.sessionIdHash !== null) {
        // A step-up is for the session this browser still has.
        const session = await currentSession(deps, request)
        if (!session || session.idHash !== pending.sessionIdHash) throw EXPIRED_PAGE
      }
      const amr = addMethods(pending.amr, methods)
      return reply.redirect(
        await completeSignIn(deps, request, reply, { user, amr, interaction, stepUp: pending.sessionIdHash !== null }),
        303,
      )
    },
  )

  app.post(
    '/login/passkey',
    { schema: { body: PasskeyLoginForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const interaction = await interactionOf(request.body.interaction)
      const throttle = passkeyLoginRules(deps.config, request.ip)
      await assertNotBlocked(deps, throttle, request.ip)
      try {
        const { passkey, methods } = await verifyPasskey(deps, request.body.credential, null)
        const user = await deps.repos.users.findById(passkey.userId)
        if (!user || user.disabledAt !== null) throw new PasskeyRejected('unknown_credential', 'disabled user')
        return reply.redirect(await completeSignIn(deps, request, reply, { user, amr: methods, interaction }), 303)
      } catch (error) {
        if (!(error instanceof PasskeyRejected)) throw error
        await deps.audit.record(
          'passkey_failure',
          { ip: request.ip, detail: { reason: error.reason, stage: 'sign_in' } },
          'passkey refused',
        )
        await recordFailures(deps, throttle)
        const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
        const html = views.render('message', {
          title: 'That passkey did not work',
          message: 'Your passkey could not sign you in. Try again, or sign in with your email and password.',
          link: {
            href: interaction ? `/login?${new URLSearchParams({ interaction: interaction.id }).toString()}` : '/login',
            label: client ? `Back to sign in to ${client.name}` : 'Back to sign in',
          },
        })
        return sendPage(reply, html, 401)
      }
    },
  )

  // JSON for the page's script: errors answer JSON too (not a page).
  app.post('/login/passkey/options', { schema: { body: OptionsForm }, preHandler: app.formGuards }, async (request, reply) => {
    let userId: string | null = null
    if (request.body.purpose === 'second-factor') {
      const pending = await currentPendingLogin(deps, request)
      if (!pending) throw new OAuthError('invalid_request', 'no sign-in is waiting for a second factor')
      userId = pending.userId
    }
    return reply.header('cache-control', 'no-store').send(await authenticationOptions(deps, userId))
  })
}
