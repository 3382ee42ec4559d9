/**
 * The account page (requires the session): name and email with verification status, change of
 * name and password, the sessions this user is signed in with (each can be ended), the
 * third-party applications they allowed (each can be revoked), and sign-out.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendVerificationMail } from '../../accounts/email-verification.js'
import { changePassword } from '../../accounts/password-change.js'
import { MIN_PASSWORD_LENGTH, SUGGESTED_PASSWORD_LENGTH } from '../../accounts/password-policy.js'
import { MAX_NAME_LENGTH } from '../../accounts/signup.js'
import type { LoginSession } from '../../db/repositories/sessions.js'
import type { User } from '../../db/repositories/users.js'
import type { Deps } from '../../deps.js'
import { describeScopes } from '../../oauth/consent.js'
import { describeDevice } from '../device.js'
import { clearSessionCookie, currentSession } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const RevokeForm = Type.Object({ client_id: Type.String({ maxLength: 200 }), ...Csrf })
const ProfileForm = Type.Object({ name: Type.String({ maxLength: 1024 }), ...Csrf })
const PasswordForm = Type.Object({
  current_password: Type.String({ maxLength: 4096 }),
  password: Type.String({ maxLength: 4096 }),
  password_confirm: Type.String({ maxLength: 4096 }),
  username: Type.Optional(Type.String({ maxLength: 1024 })),
  ...Csrf,
})
const EndSessionForm = Type.Object({ handle: Type.String({ maxLength: 64 }), ...Csrf })
const EmptyForm = Type.Object({ ...Csrf })

/** Fixed messages shown after a redirect; the query names one, nothing from it is echoed. */
const NOTICES = {
  'password-changed': 'Your password was changed. Your other sessions were signed out.',
  'name-saved': 'Your name was saved.',
  'verification-sent': 'We sent a new verification link to your email address.',
  'session-ended': 'The session was ended.',
  'application-removed': 'The application no longer has access to your account.',
} as const
type Notice = keyof typeof NOTICES
const AccountQuery = Type.Object({ notice: Type.Optional(Type.String({ maxLength: 40 })) })

type Problems = Partial<Record<'name' | 'current_password' | 'password', string>>

const day = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'

export const accountRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** The signed-in user, or a redirect to the login page. */
  async function signedIn(request: FastifyRequest): Promise<{ session: LoginSession; user: User } | undefined> {
    const session = await currentSession(deps, request)
    const user = session ? await deps.repos.users.findById(session.userId) : undefined
    return session && user && user.disabledAt === null ? { session, user } : undefined
  }

  async function renderAccount(reply: FastifyReply, session: LoginSession, user: User, options: { notice?: string | undefined; problems?: Problems; status?: number; name?: string }) {
    const now = deps.clock.now()
    const applications = []
    for (const consent of await deps.repos.consents.listForUser(user.id)) {
      const client = await deps.repos.clients.find(consent.clientId)
      if (client) applications.push({ clientId: client.id, name: client.name, scopes: describeScopes(consent.scope), since: day(consent.updatedAt).slice(0, 10) })
    }
    const sessions = (await deps.repos.sessions.listLiveForUser(user.id, now, deps.config.sessionIdleTtl)).map((s) => ({
      handle: s.handle,
      current: s.idHash === session.idHash,
      device: describeDevice(s.userAgent),
      since: day(s.createdAt),
      lastSeen: day(s.lastSeenAt),
    }))
    const notice = options.notice !== undefined && Object.hasOwn(NOTICES, options.notice) ? NOTICES[options.notice as Notice] : null
    const html = views.render('account', {
      title: 'Your account',
      email: user.email,
      emailVerified: user.emailVerified,
      name: options.name ?? user.name ?? '',
      applications,
      sessions,
      notice,
      problems: options.problems ?? {},
      minLength: MIN_PASSWORD_LENGTH,
      suggestedLength: SUGGESTED_PASSWORD_LENGTH,
      csrfToken: reply.formToken(),
    })
    return sendPage(reply, html, options.status ?? 200)
  }

  const withNotice = (reply: FastifyReply, notice: Notice) => reply.redirect(`/account?notice=${notice}`, 303)

  app.get('/account', { schema: { querystring: AccountQuery }, config: { page: true } }, async (request, reply) => {
    const current = await signedIn(request)
    if (!current) return reply.redirect('/login', 303)
    return renderAccount(reply, current.session, current.user, { notice: request.query.notice })
  })

  app.post('/account/profile', { schema: { body: ProfileForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const current = await signedIn(request)
    if (!current) return reply.redirect('/login', 303)
    const name = request.body.name.trim()
    if (name.length > MAX_NAME_LENGTH) return renderAccount(reply, current.session, current.user, { problems: { name: `Use at most ${MAX_NAME_LENGTH} characters.` }, status: 400, name: name.slice(0, MAX_NAME_LENGTH) })
    await deps.repos.users.updateName(current.user.id, name === '' ? null : name, deps.clock.now())
    return withNotice(reply, 'name-saved')
  })

  app.post(
    '/account/password',
    // Throttled like login: a stolen session must not become a password-guessing oracle.
    { schema: { body: PasswordForm }, config: { page: true, rateLimit: { max: deps.config.loginRateLimit, timeWindow: 60_000 } }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = await signedIn(request)
      if (!current) return reply.redirect('/login', 303)
      const { current_password: currentPassword, password, password_confirm: confirmation } = request.body
      if (password !== confirmation) return renderAccount(reply, current.session, current.user, { problems: { password: 'The two new passwords are not the same.' }, status: 400 })
      const result = await changePassword(deps, current.user, current.session.idHash, currentPassword, password)
      if (!result.ok) return renderAccount(reply, current.session, current.user, { problems: { [result.field]: result.problem }, status: 400 })
      return withNotice(reply, 'password-changed')
    },
  )

  app.post(
    '/account/verify-email',
    { schema: { body: EmptyForm }, config: { page: true, rateLimit: { max: 5, timeWindow: 10 * 60_000 } }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = await signedIn(request)
      if (!current) return reply.redirect('/login', 303)
      if (!current.user.emailVerified) sendVerificationMail(deps, current.user)
      return withNotice(reply, 'verification-sent')
    },
  )

  app.post('/account/sessions/end', { schema: { body: EndSessionForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const current = await signedIn(request)
    if (!current) return reply.redirect('/login', 303)
    const now = deps.clock.now()
    const ended = await deps.repos.sessions.endByHandle(current.user.id, request.body.handle, now)
    if (ended === undefined) return withNotice(reply, 'session-ended')
    // As at logout: the ended session's grants go with it (offline grants outlive sessions).
    await deps.repos.grants.revokeForSession(ended, now)
    await deps.audit.record('revocation', { userId: current.user.id, ip: request.ip, detail: { kind: 'session' } }, 'user ended a session')
    if (ended !== current.session.idHash) return withNotice(reply, 'session-ended')
    clearSessionCookie(deps, reply)
    return reply.redirect('/login', 303)
  })

  app.post('/account/applications/revoke', { schema: { body: RevokeForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const current = await signedIn(request)
    if (!current) return reply.redirect('/login', 303)
    const now = deps.clock.now()
    await deps.repos.consents.revoke(current.user.id, request.body.client_id)
    await deps.repos.grants.revokeForUserAndClient(current.user.id, request.body.client_id, now)
    await deps.audit.record('revocation', { userId: current.user.id, clientId: request.body.client_id, ip: request.ip, detail: { kind: 'application' } }, 'user revoked an application')
    return withNotice(reply, 'application-removed')
  })
}
