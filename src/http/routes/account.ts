/**
 * The account page (requires the session): name and email with verification status, change of
 * name and password, the sessions this user is signed in with (each can be ended), the
 * third-party applications they allowed (each can be revoked), sign-out, and the way to download
 * the user's data or delete the account (account-data.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendVerificationMail } from '../../accounts/email-verification.js'
import { changePassword } from '../../accounts/password-change.js'
import { MIN_PASSWORD_LENGTH, SUGGESTED_PASSWORD_LENGTH } from '../../accounts/password-policy.js'
import { MAX_NAME_LENGTH } from '../../accounts/signup.js'
import type { Deps } from '../../deps.js'
import { describeScopes } from '../../oauth/consent.js'
import { describeDevice } from '../device.js'
import { accountFactorRoutes } from './account-factors.js'
import { accountConnectionRoutes } from './account-connections.js'
import { accountDataRoutes } from './account-data.js'
import type { ConfigurationFor } from '../../connections/upstream-client.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { MAX_PASSKEY_NAME } from '../../factors/passkeys.js'
import { PASSKEY_SCRIPTS } from './login.js'
import { endSession } from '../../sessions/end-session.js'
import { assertNotBlocked, countRequest, recordFailures } from '../../throttle/guard.js'
import { passwordChangeRules, quotaPolicy } from '../../throttle/rules.js'
import { clearSessionCookie, currentSession } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'

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
/** Verification mails a signed-in user may ask for per 10 minutes. */
const VERIFICATION_MAILS = 5

/** Fixed messages shown after a redirect; the query names one, nothing from it is echoed. */
const NOTICES = {
  'password-changed': 'Your password was changed. Your other sessions were signed out.',
  'name-saved': 'Your name was saved.',
  'verification-sent': 'We sent a new verification link to your email address.',
  'session-ended': 'The session was ended.',
  'application-removed': 'The application no longer has access to your account.',
  'passkey-added': 'Your passkey was added. You can sign in with it without a password.',
  'passkey-removed': 'The passkey was removed.',
  'totp-added': 'Your authenticator app is set up. Signing in with your password now also asks for a code.',
  'totp-removed': 'The authenticator app was removed.',
  'totp-exists': 'An authenticator app is already set up. Remove it first to set up another.',
  'recovery-codes-saved': 'Your second factor is ready.',
  'second-factor-ready': 'Your second factor is ready.',
  'identity-linked': 'The sign-in method was linked to your account.',
  'identity-unlinked': 'The sign-in method was unlinked from your account.',
} as const
type Notice = keyof typeof NOTICES
const AccountQuery = Type.Object({ notice: Type.Optional(Type.String({ maxLength: 40 })) })

type Problems = Partial<Record<'name' | 'current_password' | 'password', string>>

const day = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'

interface SignedIn {
  readonly session: LoginSession
  readonly user: User
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every route of the account pages by their scope's preHandler. */
    account: SignedIn | null
  }
}

/** The signed-in user of an account-page request (the scope's hook guarantees one). */
function signedIn(request: FastifyRequest): SignedIn {
  if (request.account === null) throw new Error('account route reached without the account hook')
  return request.account
}

/** Every route here is in this plugin's own scope: its preHandler loads the user or redirects to /login. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views; configurationFor: ConfigurationFor }> = async (
  app,
  { deps, views, configurationFor },
) => {
  app.decorateRequest('account', null)
  app.addHook('preHandler', async (request, reply) => {
    const session = await currentSession(deps, request)
    const user = session ? await deps.repos.users.findById(session.userId) : undefined
    if (!session || !user || user.disabledAt !== null) return reply.redirect('/login', 303)
    request.account = { session, user }
  })
  // Second factors: the same scope, so the same signed-in user (registered after the hook).
  await app.register(accountFactorRoutes, { deps, views, signedIn })
  await app.register(accountConnectionRoutes, { deps, views, signedIn, configurationFor })
  // Downloading the data and deleting the account: the same scope too.
  await app.register(accountDataRoutes, { deps, views, signedIn })

  async function renderAccount(
    reply: FastifyReply,
    session: LoginSession,
    user: User,
    options: { notice?: string | undefined; problems?: Problems; status?: number; name?: string },
  ) {
    const now = deps.clock.now()
    const applications = (await deps.repos.consents.listApplicationsForUser(user.id)).map((application) => ({
      clientId: application.clientId,
      name: application.clientName,
      scopes: describeScopes(application.scope),
      since: day(application.updatedAt).slice(0, 10),
    }))
    const sessions = (await deps.repos.sessions.listLiveForUser(user.id, now, deps.config.sessionIdleTtl)).map((s) => ({
      handle: s.handle,
      current: s.idHash === session.idHash,
      device: describeDevice(s.userAgent),
      since: day(s.createdAt),
      lastSeen: day(s.lastSeenAt),
    }))
    const [passkeys, totp, recoveryCodes, identities, connections] = await Promise.all([
      deps.repos.passkeys.listForUser(user.id),
      deps.repos.totp.find(user.id),
      deps.repos.recoveryCodes.countUnused(user.id),
      deps.repos.federatedIdentities.listForUser(user.id),
      deps.repos.connections.list(),
    ])
    const connectionName = (id: string) => connections.find((connection) => connection.id === id)?.name ?? id
    const linkable = connections.filter(
      (connection) => connection.disabledAt === null && !identities.some((identity) => identity.connectionId === connection.id),
    )
    const notice = options.notice !== undefined && Object.hasOwn(NOTICES, options.notice) ? NOTICES[options.notice as Notice] : null
    const html = views.render('account', {
      title: 'Your account',
      email: user.email,
      emailVerified: user.emailVerified,
      name: options.name ?? user.name ?? '',
      applications,
      sessions,
      passkeys: passkeys.map((passkey) => ({
        id: passkey.id,
        name: passkey.name,
        added: day(passkey.createdAt).slice(0, 10),
        lastUsed: passkey.lastUsedAt === null ? null : day(passkey.lastUsedAt),
        synced: passkey.deviceType === 'multiDevice',
      })),
      totp: totp?.confirmedAt != null,
      identities: identities.map((identity) => ({
        id: identity.id,
        connection: connectionName(identity.connectionId),
        email: identity.email,
        since: day(identity.createdAt).slice(0, 10),
      })),
      linkable: linkable.map((connection) => ({ id: connection.id, name: connection.name })),
      recoveryCodes,
      maxPasskeyName: MAX_PASSKEY_NAME,
      scripts: PASSKEY_SCRIPTS,
      notice,
      problems: options.problems ?? {},
      minLength: MIN_PASSWORD_LENGTH,
      suggestedLength: SUGGESTED_PASSWORD_LENGTH,
      csrfToken: reply.formToken(),
    })
    // The link buttons post here and are redirected to the upstream.
    allowFormRedirects(
      reply,
      linkable.map((connection) => connection.endpoints.authorization_endpoint),
    )
    return sendPage(reply, html, options.status ?? 200)
  }

  const withNotice = (reply: FastifyReply, notice: Notice) => reply.redirect(`/account?notice=${notice}`, 303)

  app.get('/account', { schema: { querystring: AccountQuery }, config: { page: true } }, async (request, reply) => {
    const current = signedIn(request)
    return renderAccount(reply, current.session, current.user, { notice: request.query.notice })
  })

  app.post(
    '/account/profile',
    { schema: { body: ProfileForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = signedIn(request)
      const name = request.body.name.trim()
      if (name.length > MAX_NAME_LENGTH)
        return renderAccount(reply, current.session, current.user, {
          problems: { name: `Use at most ${MAX_NAME_LENGTH} characters.` },
          status: 400,
          name: name.slice(0, MAX_NAME_LENGTH),
        })
      await deps.repos.users.updateName(current.user.id, name === '' ? null : name, deps.clock.now())
      return withNotice(reply, 'name-saved')
    },
  )

  app.post(
    '/account/password',
    { schema: { body: PasswordForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = signedIn(request)
      const { current_password: currentPassword, password, password_confirm: confirmation } = request.body
      if (password !== confirmation)
        return renderAccount(reply, current.session, current.user, {
          problems: { password: 'The two new passwords are not the same.' },
          status: 400,
        })
      // Wrong current passwords are failures of this user: a stolen session is no guessing oracle.
      const throttle = passwordChangeRules(deps.config, current.user.id)
      await assertNotBlocked(deps, throttle, request.ip)
      const result = await changePassword(deps, current.user, current.session.idHash, currentPassword, password)
      if (!result.ok && result.field === 'current_password') await recordFailures(deps, throttle)
      if (!result.ok)
        return renderAccount(reply, current.session, current.user, { problems: { [result.field]: result.problem }, status: 400 })
      return withNotice(reply, 'password-changed')
    },
  )

  app.post(
    '/account/verify-email',
    { schema: { body: EmptyForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = signedIn(request)
      // The user's own mailbox is the one filled: a quota per user, not per address.
      await countRequest(deps, [{ key: `verify-mail:${current.user.id}`, policy: quotaPolicy(VERIFICATION_MAILS, 10 * 60) }], request.ip)
      if (!current.user.emailVerified) await sendVerificationMail(deps, current.user)
      return withNotice(reply, 'verification-sent')
    },
  )

  app.post(
    '/account/sessions/end',
    { schema: { body: EndSessionForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = signedIn(request)
      const ended = await deps.repos.sessions.findLiveByHandle(current.user.id, request.body.handle)
      if (ended === undefined) return withNotice(reply, 'session-ended')
      await endSession(deps, { idHash: ended, userId: current.user.id, reason: 'ended_by_user', ip: request.ip })
      if (ended !== current.session.idHash) return withNotice(reply, 'session-ended')
      clearSessionCookie(deps, reply)
      return reply.redirect('/login', 303)
    },
  )

  app.post(
    '/account/applications/revoke',
    { schema: { body: RevokeForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const current = signedIn(request)
      const now = deps.clock.now()
      await deps.repos.consents.revoke(current.user.id, request.body.client_id)
      await deps.repos.grants.revokeForUserAndClient(current.user.id, request.body.client_id, now)
      await deps.audit.record(
        'revocation',
        { userId: current.user.id, clientId: request.body.client_id, ip: request.ip, detail: { kind: 'application' } },
        'user revoked an application',
      )
      return withNotice(reply, 'application-removed')
    },
  )
}
