/**
 * The login page. GET renders the form (for a parked authorization request, or on its own for the
 * account page); POST checks the anti-forgery token and Origin, verifies the password (same answer
 * and similar timing for unknown emails), starts a fresh session, and continues with a 303.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { authenticateWithPassword } from '../../accounts/authenticate.js'
import type { Deps } from '../../deps.js'
import { PageError } from '../../errors/oauth-error.js'
import { factorsOf, hasSecondFactor } from '../../factors/summary.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { startPendingLogin } from '../pending-login.js'
import { readDeviceCookie, trustedDeviceFor } from '../device-cookie.js'
import { completeSignIn } from '../sign-in.js'
import { assertNotBlocked, clearFailures, recordFailures } from '../../throttle/guard.js'
import { loginThrottle } from '../../throttle/rules.js'
import { sendPage, type Views } from '../views/render.js'
import { signupHref } from './signup.js'
import { clientView } from '../client-view.js'
import type { Interaction } from '../../model/interaction.js'
import { normaliseEmail } from '../../accounts/email-address.js'
import type { ConfigurationFor } from '../../connections/upstream-client.js'
import { connectionForEmail } from '../../oauth/upstream.js'
import { holdsPendingLink, peekPendingLink, startUpstreamLogin } from '../upstream-login.js'
import { readOnce } from '../page-reads.js'

const LoginQuery = Type.Object({ interaction: Type.Optional(Type.String({ maxLength: 64 })) })
const LoginForm = Type.Object({
  interaction: Type.Optional(Type.String({ maxLength: 64 })),
  email: Type.String({ maxLength: 1024 }),
  password: Type.String({ maxLength: 4096 }),
  // Optional in the schema so a missing token reaches the anti-forgery check (403), not validation (400).
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
})

/** The browser half of WebAuthn, served from this origin (the CSP allows no other). */
export const PASSKEY_SCRIPTS = ['/assets/simplewebauthn-browser.js', '/assets/passkeys.js']

export const EXPIRED_PAGE = new PageError(400, 'errors.signin_page_expired')

export const loginRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views; configurationFor: ConfigurationFor }> = async (
  app,
  { deps, views, configurationFor },
) => {
  const enabledConnections = async () => (await deps.repos.connections.list()).filter((connection) => connection.disabledAt === null)

  /**
   * Home-realm discovery: an address in a domain that a connection serves signs in there (with
   * the address as login_hint). Not while this browser is proving an account for a pending link,
   * which needs the account's own password or passkey.
   */
  async function homeRealm(request: FastifyRequest, reply: FastifyReply, email: string, interaction: Interaction | null) {
    if (email === '' || holdsPendingLink(deps, request)) return null
    const connection = connectionForEmail(await enabledConnections(), normaliseEmail(email))
    if (!connection) return null
    const url = await startUpstreamLogin(deps, configurationFor, reply, connection, {
      interactionId: interaction?.id ?? null,
      linkUserId: null,
      loginHint: email,
    })
    return reply.redirect(url, 303)
  }

  async function loadInteraction(request: FastifyRequest, id: string | undefined): Promise<Interaction | null> {
    if (id === undefined || id === '') return null
    const interaction = await readOnce(request, 'interaction', id, () => deps.repos.interactions.findLive(id, deps.clock.now()))
    if (!interaction) throw EXPIRED_PAGE
    return interaction
  }

  async function renderLogin(reply: FastifyReply, interaction: Interaction | null, status: number, email: string, errorKey: string | null) {
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    if (interaction && !client) throw EXPIRED_PAGE
    const connections = await enabledConnections()
    const words = pageWords(deps, reply.request)
    // Proving an account for a pending link (connections.ts): say which, and to which account.
    const link = await peekPendingLink(deps, reply.request)
    const linking = link && connections.find((connection) => connection.id === link.connectionId)
    const html = views.render(
      'login',
      {
        title: words.t('login.title'),
        client: client && interaction ? await clientView(deps, client, interaction.request.redirectUri) : null,
        csrfToken: reply.formToken(),
        interaction: interaction?.id ?? '',
        email: email === '' && link ? link.email : email,
        error: errorKey === null ? null : words.t(errorKey),
        linking: linking && link ? words.t('login.linking', { connection: linking.name, email: link.email }) : null,
        signupHref: deps.config.signup === 'on' ? signupHref(interaction?.id) : null,
        connections: connections.map((connection) => ({ id: connection.id, name: connection.name })),
        scripts: PASSKEY_SCRIPTS,
      },
      words.locale,
    )
    // The form posts may redirect to the application or, through a connection, to an upstream.
    allowFormRedirects(reply, [
      interaction?.request.redirectUri,
      ...connections.map((connection) => connection.endpoints.authorization_endpoint),
    ])
    return sendPage(reply, html, status)
  }

  app.get('/login', { schema: { querystring: LoginQuery }, config: { page: true } }, async (request, reply) => {
    const interaction = await loadInteraction(request, request.query.interaction)
    const hint = interaction?.request.loginHint ?? ''
    return (await homeRealm(request, reply, hint, interaction)) ?? renderLogin(reply, interaction, 200, hint, null)
  })

  const https = deps.config.issuerIsHttps
  /** A browser that signed in to this account before: its posts are not flood-guarded, its failures are its own. */
  const trustedDevice = (request: FastifyRequest) =>
    trustedDeviceFor(readDeviceCookie(request, https), (request.body as { email?: unknown } | undefined)?.email?.toString() ?? '')

  app.post(
    '/login',
    {
      schema: { body: LoginForm },
      config: {
        page: true,
        // Flood guard only (far above real use: an office or a carrier NAT is one address); run
        // after the body is parsed so that trusted devices are not counted.
        rateLimit: {
          max: deps.config.loginRateLimit,
          timeWindow: 60_000,
          hook: 'preHandler',
          allowList: (request) => trustedDevice(request) !== null,
        },
      },
      preHandler: [...app.formGuards],
    },
    async (request, reply) => {
      const { email, password } = request.body
      const interaction = await loadInteraction(request, request.body.interaction)
      const sso = await homeRealm(request, reply, email.trim().slice(0, 320), interaction)
      if (sso) return sso
      const clientId = interaction?.request.clientId
      const device = readDeviceCookie(request, https)
      const throttle = loginThrottle(deps.config, email, request.ip, trustedDeviceFor(device, email))
      await assertNotBlocked(deps, throttle.rules, request.ip)
      const result = await authenticateWithPassword(
        { users: deps.repos.users, hasher: deps.hasher, dummyHash: deps.dummyHash, now: () => deps.clock.now() },
        email,
        password,
      )
      if (!result.ok) {
        await deps.audit.record('login_failure', { clientId, ip: request.ip }, 'login failed')
        await recordFailures(deps, throttle.rules)
        return renderLogin(reply, interaction, 401, email.slice(0, 320), 'login.incorrect')
      }
      await clearFailures(deps, throttle.clearOnSuccess)
      // A user with a second factor is asked for it before any session exists.
      if (hasSecondFactor(await factorsOf(deps, result.user.id))) {
        await startPendingLogin(deps, reply, {
          userId: result.user.id,
          amr: ['pwd'],
          interactionId: interaction?.id ?? null,
          sessionIdHash: null,
        })
        return reply.redirect('/login/second-factor', 303)
      }
      return reply.redirect(await completeSignIn(deps, request, reply, { user: result.user, amr: ['pwd'], interaction }), 303)
    },
  )
}
