/**
 * The device verification page (RFC 8628 §3.3): a signed-in user types the code their device
 * shows, sees which application asks for what, and allows or denies. Wrong codes are failures
 * counted per user and browser (throttle/rules.ts userCodeRules); a code that expired or was
 * already answered says so. Not signed in: the sign-in page, then back here.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { answerDeviceAuthorization, VERIFICATION_PATH } from '../../devices/authorization.js'
import { ACR_MFA, acrOf, satisfiesAcr } from '../../oauth/acr.js'
import { describeScopes } from '../../oauth/consent.js'
import { formatUserCode, normaliseUserCode, verificationState } from '../../oauth/grants/device-code.js'
import { factorsOf, hasSecondFactor } from '../../factors/summary.js'
import { hashSecret } from '../../secrets.js'
import { assertNotBlocked, recordFailures } from '../../throttle/guard.js'
import { userCodeRules } from '../../throttle/rules.js'
import { readDeviceCookie, trustedDeviceFor } from '../device-cookie.js'
import { startPendingLogin } from '../pending-login.js'
import { rememberReturnPath } from '../return-to.js'
import { currentSession } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'
import type { Client } from '../../model/client.js'
import type { StoredDeviceAuthorization } from '../../model/device-authorization.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import { readOnce } from '../page-reads.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const DeviceQuery = Type.Object({ user_code: Type.Optional(Type.String({ maxLength: 64 })) })
const CodeForm = Type.Object({ user_code: Type.String({ maxLength: 64 }), ...Csrf })
const DecisionForm = Type.Object({
  user_code: Type.String({ maxLength: 64 }),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  ...Csrf,
})

interface SignedIn {
  readonly session: LoginSession
  readonly user: User
}

/** A code that can be answered now, with its application. */
interface Answerable {
  readonly code: string
  readonly authorization: StoredDeviceAuthorization
  readonly client: Client
}

/** Why a typed code cannot be answered: the message `device.problem.<problem>`. */
type CodeProblem = 'malformed' | 'unknown' | 'expired' | 'decided'

/** Pages of words only (said with the application's name as `client`), as message keys. */
const MESSAGE_PAGES = {
  mfaNeeded: { title: 'device.mfa_needed.title', message: 'device.mfa_needed.message', detail: 'device.mfa_needed.detail' },
  connected: { title: 'device.connected.title', message: 'device.connected.message', detail: 'device.connected.detail' },
  denied: { title: 'device.denied.title', message: 'device.denied.message', detail: 'device.denied.detail' },
} as const

/** A navigation another site started (Sec-Fetch-Site): its code is shown, not looked up or counted. */
const crossSite = (request: FastifyRequest): boolean => {
  const site = request.headers['sec-fetch-site']
  return site === 'cross-site' || site === 'same-site'
}

export const deviceVerificationRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  const https = deps.config.issuerIsHttps

  /** The signed-in user, or undefined after sending the browser to sign in and come back to `returnPath`. */
  async function signedIn(request: FastifyRequest, reply: FastifyReply, returnPath: string): Promise<SignedIn | undefined> {
    const session = await currentSession(deps, request)
    const user = session ? await readOnce(request, 'user', session.userId, () => deps.repos.users.findById(session.userId)) : undefined
    if (session && user && user.disabledAt === null) return { session, user }
    rememberReturnPath(deps, reply, returnPath)
    await reply.redirect('/login', 303)
    return undefined
  }

  const returnPathFor = (code: string | null) =>
    code === null ? VERIFICATION_PATH : `${VERIFICATION_PATH}?${new URLSearchParams({ user_code: formatUserCode(code) }).toString()}`

  const wordsFor = (reply: FastifyReply) => pageWords(deps, reply.request)

  function renderEntry(reply: FastifyReply, current: SignedIn, typed: string, problem: CodeProblem | null, status = 200) {
    const words = wordsFor(reply)
    const html = views.render(
      'device',
      {
        title: words.t('device.title'),
        userEmail: current.user.email,
        userCode: typed.slice(0, 32),
        error: problem === null ? null : words.t(`device.problem.${problem}`),
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    return sendPage(reply, html, status)
  }

  function renderMessage(reply: FastifyReply, page: keyof typeof MESSAGE_PAGES, client: Client, status = 200) {
    const words = wordsFor(reply)
    const keys = MESSAGE_PAGES[page]
    const html = views.render(
      'message',
      { title: words.t(keys.title), message: words.t(keys.message, { client: client.name }), detail: words.t(keys.detail), link: null },
      words.locale,
    )
    return sendPage(reply, html, status)
  }

  /**
   * Looks the typed code up. A wrong code is a counted failure; a code that cannot be one (wrong
   * length, letters not in the alphabet) is a typo and is not.
   */
  async function lookUp(
    request: FastifyRequest,
    current: SignedIn,
    typed: string,
  ): Promise<{ answerable: Answerable } | { problem: CodeProblem }> {
    const code = normaliseUserCode(typed)
    if (code === null) return { problem: 'malformed' }
    const device = trustedDeviceFor(readDeviceCookie(request, https), current.user.email)
    const rules = userCodeRules(deps.config, current.user.id, request.ip, device)
    await assertNotBlocked(deps, rules, request.ip)
    const authorization = await deps.repos.deviceCodes.findByUserCode(hashSecret(code))
    const state = verificationState(authorization, deps.clock.now())
    const client = authorization ? await deps.clients.find(authorization.clientId) : undefined
    if (state === 'unknown' || !authorization || !client) {
      await deps.audit.record('user_code_failure', { userId: current.user.id, ip: request.ip }, 'wrong device user code')
      await recordFailures(deps, rules)
      return { problem: 'unknown' }
    }
    if (state !== 'pending') return { problem: state }
    return { answerable: { code, authorization, client } }
  }

  /**
   * Clients that require a second factor (--require-mfa): a session without one steps up first
   * (and comes back here); a user without any is told to set one up. Undefined when satisfied.
   */
  async function needsSecondFactor(reply: FastifyReply, current: SignedIn, answerable: Answerable): Promise<FastifyReply | undefined> {
    if (!answerable.client.requireMfa || satisfiesAcr(acrOf(current.session.amr), ACR_MFA)) return undefined
    if (!hasSecondFactor(await factorsOf(deps, current.user.id))) return renderMessage(reply, 'mfaNeeded', answerable.client, 403)
    await startPendingLogin(deps, reply, {
      userId: current.user.id,
      amr: current.session.amr,
      interactionId: null,
      sessionIdHash: current.session.idHash,
    })
    rememberReturnPath(deps, reply, returnPathFor(answerable.code))
    return reply.redirect('/login/second-factor', 303)
  }

  async function renderConfirm(reply: FastifyReply, current: SignedIn, answerable: Answerable) {
    const stepUp = await needsSecondFactor(reply, current, answerable)
    if (stepUp) return stepUp
    const { authorization, client } = answerable
    const apis = [...(await deps.repos.apis.findMany(authorization.resources)).values()]
    const apiScopes = new Map(apis.flatMap((api) => api.scopes.map((scope) => [scope.name, `${api.name}: ${scope.description}`] as const)))
    const words = wordsFor(reply)
    const html = views.render(
      'device-confirm',
      {
        title: words.t('device.confirm.title', { client: client.name }),
        clientName: client.name,
        userEmail: current.user.email,
        userCode: formatUserCode(answerable.code),
        scopes: describeScopes(authorization.scope, apiScopes, words.t),
        apis: apis.map((api) => api.name),
        selfRegistered: client.registration !== 'cli',
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    return sendPage(reply, html)
  }

  /** Entry form, or the confirmation for a code that can be answered. */
  async function continueWith(request: FastifyRequest, reply: FastifyReply, current: SignedIn, typed: string) {
    const found = await lookUp(request, current, typed)
    if ('problem' in found) return renderEntry(reply, current, typed, found.problem, found.problem === 'unknown' ? 404 : 400)
    return renderConfirm(reply, current, found.answerable)
  }

  app.get(VERIFICATION_PATH, { schema: { querystring: DeviceQuery }, config: { page: true } }, async (request, reply) => {
    const typed = request.query.user_code ?? ''
    const current = await signedIn(request, reply, returnPathFor(normaliseUserCode(typed)))
    if (!current) return reply
    // verification_uri_complete (RFC 8628 §3.3.1). A link another site made the browser follow
    // shows the code to submit, so no other site can spend this user's failures.
    if (typed === '' || crossSite(request)) return renderEntry(reply, current, typed, null)
    return continueWith(request, reply, current, typed)
  })

  app.post(
    VERIFICATION_PATH,
    { schema: { body: CodeForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const typed = request.body.user_code
      const current = await signedIn(request, reply, returnPathFor(normaliseUserCode(typed)))
      if (!current) return reply
      return continueWith(request, reply, current, typed)
    },
  )

  app.post(
    `${VERIFICATION_PATH}/decision`,
    { schema: { body: DecisionForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const typed = request.body.user_code
      const current = await signedIn(request, reply, returnPathFor(normaliseUserCode(typed)))
      if (!current) return reply
      const found = await lookUp(request, current, typed)
      if ('problem' in found) return renderEntry(reply, current, typed, found.problem, found.problem === 'unknown' ? 404 : 400)
      const approve = request.body.decision === 'approve'
      if (approve) {
        const stepUp = await needsSecondFactor(reply, current, found.answerable)
        if (stepUp) return stepUp
      }
      const answered = await answerDeviceAuthorization(deps, { ...found.answerable, session: current.session, approve, ip: request.ip })
      if (!answered) return renderEntry(reply, current, typed, 'decided', 400)
      return renderMessage(reply, approve ? 'connected' : 'denied', found.answerable.client)
    },
  )
}
