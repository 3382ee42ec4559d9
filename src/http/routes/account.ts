/**
 * The account page (requires the session): name and email with verification status, change of
 * name and password, the sessions this user is signed in with (each can be ended), the
 * third-party applications they allowed (each can be revoked), sign-out, the language of the pages
 * (account-language.ts), and the way to download the user's data or delete the account
 * (account-data.ts).
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendVerificationMail } from '../../accounts/email-verification.js'
import { changePassword } from '../../accounts/password-change.js'
import {
  MIN_PASSWORD_LENGTH,
  PASSWORD_LIMITS,
  passwordProblemCode,
  SUGGESTED_PASSWORD_LENGTH,
  type PasswordProblem,
} from '../../accounts/password-policy.js'
import { MAX_NAME_LENGTH } from '../../accounts/signup.js'
import type { Deps } from '../../deps.js'
import { describeScopes } from '../../oauth/consent.js'
import { describeDevice } from '../device.js'
import { accountFactorRoutes } from './account-factors.js'
import { accountConnectionRoutes } from './account-connections.js'
import { accountDataRoutes } from './account-data.js'
import { accountLanguageRoutes } from './account-language.js'
import type { ConfigurationFor } from '../../connections/upstream-client.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { MAX_PASSKEY_NAME } from '../../factors/passkeys.js'
import { PASSKEY_SCRIPTS } from './login.js'
import { endSession } from '../../sessions/end-session.js'
import { assertNotBlocked, countRequest, recordFailures } from '../../throttle/guard.js'
import { passwordChangeRules, quotaPolicy } from '../../throttle/rules.js'
import { clearSessionCookie, currentSession } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'
import { LOCALE_NAMES, SUPPORTED_LOCALES } from '../../i18n/locales.js'
import type { Translator } from '../../i18n/translator.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import { readOnce } from '../page-reads.js'

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
  'password-changed': 'account.notice.password_changed',
  'name-saved': 'account.notice.name_saved',
  'language-saved': 'account.notice.language_saved',
  'verification-sent': 'account.notice.verification_sent',
  'session-ended': 'account.notice.session_ended',
  'application-removed': 'account.notice.application_removed',
  'passkey-added': 'account.notice.passkey_added',
  'passkey-removed': 'account.notice.passkey_removed',
  'totp-added': 'account.notice.totp_added',
  'totp-removed': 'account.notice.totp_removed',
  'totp-exists': 'account.notice.totp_exists',
  'recovery-codes-saved': 'account.notice.second_factor_ready',
  'second-factor-ready': 'account.notice.second_factor_ready',
  'identity-linked': 'account.notice.identity_linked',
  'identity-unlinked': 'account.notice.identity_unlinked',
} as const
type Notice = keyof typeof NOTICES
const AccountQuery = Type.Object({ notice: Type.Optional(Type.String({ maxLength: 40 })) })

/** Problems shown beside the fields, already in the page's language. */
type Problems = Partial<Record<'name' | 'current_password' | 'password' | 'locale', string>>

export interface AccountPageOptions {
  readonly notice?: string | undefined
  readonly problems?: Problems
  readonly status?: number
  /** The name as typed, when the name form was refused. */
  readonly name?: string
}

/** Renders the account page (also for a refused form of account-language.ts). */
export type RenderAccount = (reply: FastifyReply, session: LoginSession, user: User, options: AccountPageOptions) => Promise<FastifyReply>

/** The password rules' refusals, in the words the signup and reset pages use too. */
const POLICY_PROBLEMS: Readonly<Record<PasswordProblem, string>> = {
  too_short: 'password.problem.too_short',
  too_long: 'password.problem.too_long',
  too_common: 'password.problem.too_common',
}

/** changePassword words its refusals in English: the page says them in its own language. */
function refusalWords(words: Translator, refusal: { field: 'current_password' | 'password'; problem: string }, password: string): string {
  if (refusal.field === 'current_password') return words.t('account.password.wrong_current')
  const code = passwordProblemCode(password)
  return code === null ? refusal.problem : words.t(POLICY_PROBLEMS[code], PASSWORD_LIMITS)
}

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
    const user = session ? await readOnce(request, 'user', session.userId, () => deps.repos.users.findById(session.userId)) : undefined
    if (!session || !user || user.disabledAt !== null) return reply.redirect('/login', 303)
    request.account = { session, user }
  })
  // Second factors: the same scope, so the same signed-in user (registered after the hook).
  await app.register(accountFactorRoutes, { deps, views, signedIn })
  await app.register(accountConnectionRoutes, { deps, views, signedIn, configurationFor })
  // Downloading the data and deleting the account: the same scope too.
  await app.register(accountDataRoutes, { deps, views, signedIn })
  // The language choice: the same scope; a refused choice shows this page again.
  await app.register(accountLanguageRoutes, { deps, signedIn, renderAccount })

  /** The words of this request's page (page-locale.ts chose the language). */
  function wordsFor(reply: FastifyReply) {
    return pageWords(deps, reply.request)
  }

  async function renderAccount(reply: FastifyReply, session: LoginSession, user: User, options: AccountPageOptions): Promise<FastifyReply> {
    const now = deps.clock.now()
    const words = wordsFor(reply)
    const applications = (await deps.repos.consents.listApplicationsForUser(user.id)).map((application) => ({
      clientId: application.clientId,
      name: application.clientName,
      scopes: describeScopes(application.scope, undefined, words.t),
      updatedAt: application.updatedAt,
    }))
    const sessions = (await deps.repos.sessions.listLiveForUser(user.id, now, deps.config.sessionIdleTtl)).map((s) => ({
      handle: s.handle,
      current: s.idHash === session.idHash,
      device: describeDevice(s.userAgent, words.t),
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
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
    const html = views.render(
      'account',
      {
        title: words.t('account.title'),
        email: user.email,
        emailVerified: user.emailVerified,
        name: options.name ?? user.name ?? '',
        applications,
        sessions,
        passkeys: passkeys.map((passkey) => ({
          id: passkey.id,
          name: passkey.name,
          createdAt: passkey.createdAt,
          lastUsedAt: passkey.lastUsedAt,
          synced: passkey.deviceType === 'multiDevice',
        })),
        totp: totp?.confirmedAt != null,
        identities: identities.map((identity) => ({
          id: identity.id,
          connection: connectionName(identity.connectionId),
          email: identity.email,
          createdAt: identity.createdAt,
        })),
        linkable: linkable.map((connection) => ({ id: connection.id, name: connection.name })),
        recoveryCodes,
        maxPasskeyName: MAX_PASSKEY_NAME,
        scripts: PASSKEY_SCRIPTS,
        notice: notice === null ? null : words.t(notice),
        problems: options.problems ?? {},
        minLength: MIN_PASSWORD_LENGTH,
        suggestedLength: SUGGESTED_PASSWORD_LENGTH,
        // The saved choice (null: the browser's), and the choices by their own names.
        preferredLocale: user.locale,
        locales: SUPPORTED_LOCALES.map((code) => ({ code, name: LOCALE_NAMES[code] })),
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
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
          problems: { name: wordsFor(reply).t('account.name.too_long', { max: MAX_NAME_LENGTH }) },
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
          problems: { password: wordsFor(reply).t('account.password.mismatch') },
          status: 400,
        })
      // Wrong current passwords are failures of this user: a stolen session is no guessing oracle.
      const throttle = passwordChangeRules(deps.config, current.user.id)
      await assertNotBlocked(deps, throttle, request.ip)
      const result = await changePassword(deps, current.user, current.session.idHash, currentPassword, password)
      if (!result.ok && result.field === 'current_password') await recordFailures(deps, throttle)
      if (!result.ok)
        return renderAccount(reply, current.session, current.user, {
          problems: { [result.field]: refusalWords(wordsFor(reply), result, password) },
          status: 400,
        })
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
