/**
 * The device verification page (RFC 8628 §3.3): a signed-in user types the code their device
 * shows, sees which application asks for what, and allows or denies. Wrong codes are failures
 * counted per user and browser (throttle/rules.ts userCodeRules); a code that expired or was
 * already answered says so. Not signed in: the sign-in page, then back here.
 */
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

const PROBLEMS = {
  malformed: 'A code has 8 letters, like BCDF-GHJK. Check the code on your device.',
  unknown: 'That code is not valid. Check the code on your device and try again.',
  expired: 'That code has expired. Start again on your device to get a new one.',
  decided: 'That code was already used. Start again on your device if it is not connected.',
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
    const user = session ? await deps.repos.users.findById(session.userId) : undefined
    if (session && user && user.disabledAt === null) return { session, user }
    rememberReturnPath(deps, reply, returnPath)
    await reply.redirect('/login', 303)
    return undefined
  }

  const returnPathFor = (code: string | null) =>
    code === null ? VERIFICATION_PATH : `${VERIFICATION_PATH}?${new URLSearchParams({ user_code: formatUserCode(code) }).toString()}`

  function renderEntry(reply: FastifyReply, current: SignedIn, typed: string, problem: string | null, status = 200) {
    const html = views.render('device', {
      title: 'Connect a device',
      userEmail: current.user.email,
      userCode: typed.slice(0, 32),
      error: problem,
      csrfToken: reply.formToken(),
    })
    return sendPage(reply, html, status)
  }

  function renderMessage(reply: FastifyReply, title: string, message: string, detail: string | null, status = 200) {
    return sendPage(reply, views.render('message', { title, message, detail, link: null }), status)
  }

  /**
   * Looks the typed code up. A wrong code is a counted failure; a code that cannot be one (wrong
   * length, letters not in the alphabet) is a typo and is not.
   */
  async function lookUp(
    request: FastifyRequest,
    current: SignedIn,
    typed: string,
  ): Promise<{ answerable: Answerable } | { problem: keyof typeof PROBLEMS }> {
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
    if (!hasSecondFactor(await factorsOf(deps, current.user.id)))
      return renderMessage(
        reply,
        'A second factor is needed',
        `${answerable.client.name} asks for a second factor, such as a passkey or an authenticator app.`,
        'Set one up on your account page, then enter the code again.',
        403,
      )
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
    const html = views.render('device-confirm', {
      title: `Connect ${client.name}?`,
      clientName: client.name,
      userEmail: current.user.email,
      userCode: formatUserCode(answerable.code),
      scopes: describeScopes(authorization.scope, apiScopes),
      apis: apis.map((api) => api.name),
      selfRegistered: client.registration !== 'cli',
      csrfToken: reply.formToken(),
    })
    return sendPage(reply, html)
  }

  /** Entry form, or the confirmation for a code that can be answered. */
  async function continueWith(request: FastifyRequest, reply: FastifyReply, current: SignedIn, typed: string) {
    const found = await lookUp(request, current, typed)
    if ('problem' in found) return renderEntry(reply, current, typed, PROBLEMS[found.problem], found.problem === 'unknown' ? 404 : 400)
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
      if ('problem' in found) return renderEntry(reply, current, typed, PROBLEMS[found.problem], found.problem === 'unknown' ? 404 : 400)
      const approve = request.body.decision === 'approve'
      if (approve) {
        const stepUp = await needsSecondFactor(reply, current, found.answerable)
        if (stepUp) return stepUp
      }
      const answered = await answerDeviceAuthorization(deps, { ...found.answerable, session: current.session, approve, ip: request.ip })
      if (!answered) return renderEntry(reply, current, typed, PROBLEMS.decided, 400)
      return approve
        ? renderMessage(
            reply,
            'Device connected',
            `${found.answerable.client.name} is now connected to your account.`,
            'You can return to your device.',
          )
        : renderMessage(
            reply,
            'Request denied',
            `${found.answerable.client.name} was not given access to your account.`,
            'You can close this page.',
          )
    },
  )
}
