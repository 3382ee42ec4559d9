/**
 * Second factors at sign-in and passkey sign-in (docs/security.md §I):
 *
 * - `/login/second-factor`: after the password (or for a session stepping up to a stronger acr),
 *   a code from an authenticator app or a recovery code in the field `code`, or a passkey;
 *   failures are throttled per account and device (never locking out a trusted browser). A
 *   step-up offers, and accepts, only the factors that reach the acr it is for (RFC 9470): for
 *   `phr` a passkey, never a code that would "succeed" and lead back to the same page.
 * - `/login/passkey`: passwordless sign-in with a discoverable passkey and user verification.
 * - `/login/passkey/options`: the WebAuthn options (and single-use challenge) for either.
 *
 * Every refusal is a page (or a JSON error for the options), audited, never a 500.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { authenticationOptions, PasskeyRejected, verifyPasskey } from '../../factors/passkeys.js'
import { useRecoveryCode } from '../../factors/recovery-codes.js'
import { factorsOf, type FactorSummary } from '../../factors/summary.js'
import { verifyTotp } from '../../factors/totp.js'
import type { AuthenticationMethod } from '../../model/authentication.js'
import type { PendingLogin } from '../../model/factors.js'
import type { Interaction } from '../../model/interaction.js'
import { ACR_PHISHING_RESISTANT, addMethods, reachesAcr } from '../../oauth/acr.js'
import { assertNotBlocked, clearFailures, recordFailures } from '../../throttle/guard.js'
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

// The page's problems, as message keys.
const WRONG_CODE = 'factors.second_factor.wrong_code'
const PASSKEY_FAILED = 'factors.second_factor.passkey_failed'
const PASSKEY_NEEDED = 'factors.second_factor.passkey_needed'
const NOT_ENOUGH = 'factors.second_factor.not_enough'

/**
 * What proving each kind of factor adds to amr, enough to tell which acr it reaches (oauth/acr.ts):
 * any user-verifying passkey (hwk or swk) is phishing-resistant; a code is one possession factor.
 */
const PASSKEY_PROOF: readonly AuthenticationMethod[] = ['hwk', 'user']
const CODE_PROOF: readonly AuthenticationMethod[] = ['otp']
type FactorKind = 'passkey' | 'code'
const proofOf = (kind: FactorKind) => (kind === 'passkey' ? PASSKEY_PROOF : CODE_PROOF)

/** The factors this sign-in may offer: those the user has that reach its required acr. */
function offeredFactors(pending: PendingLogin, factors: FactorSummary): Record<FactorKind, boolean> {
  const reaches = (kind: FactorKind) => reachesAcr(pending.amr, proofOf(kind), pending.requiredAcr)
  return {
    passkey: factors.passkeys > 0 && reaches('passkey'),
    code: (factors.totp || factors.recoveryCodes > 0) && reaches('code'),
  }
}

/** A message key (said with the application's name as `client`) and a link to go on with. */
interface Requirement {
  readonly key: string
  readonly link: { readonly href: string; readonly labelKey: string } | null
}

/** Why fewer factors than the user has are offered; null when nothing needs saying. */
function requirementOf(pending: PendingLogin, factors: FactorSummary, offered: Record<FactorKind, boolean>): Requirement | null {
  const hasCode = factors.totp || factors.recoveryCodes > 0
  const signInAgain = {
    href: pending.interactionId ? `/login?${new URLSearchParams({ interaction: pending.interactionId }).toString()}` : '/login',
    labelKey: 'factors.second_factor.sign_in_again',
  }
  // The factors went while this page waited (removed elsewhere, an operator's reset).
  if (factors.passkeys === 0 && !hasCode) return { key: 'factors.second_factor.no_factors', link: signInAgain }
  if (pending.requiredAcr === ACR_PHISHING_RESISTANT) {
    if (!offered.passkey)
      return { key: 'factors.second_factor.passkey_missing', link: { href: '/account', labelKey: 'factors.second_factor.go_to_account' } }
    return hasCode ? { key: 'factors.second_factor.passkey_only', link: null } : null
  }
  if (!offered.passkey && !offered.code) return { key: 'factors.second_factor.stronger', link: signInAgain }
  return null
}

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
    errorKey: string | null,
  ) {
    const factors = await factorsOf(deps, pending.userId)
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    const offered = offeredFactors(pending, factors)
    const requirement = requirementOf(pending, factors, offered)
    const words = pageWords(deps, reply.request)
    const who = client?.name ?? words.t('factors.this_application')
    const html = views.render(
      'second-factor',
      {
        title: words.t('factors.second_factor.title'),
        clientName: client?.name ?? null,
        stepUp: pending.sessionIdHash !== null,
        hasCode: offered.code,
        hasAuthenticatorApp: factors.totp,
        hasPasskey: offered.passkey,
        requirement: requirement ? words.t(requirement.key, { client: who }) : null,
        requirementLink: requirement?.link ? { href: requirement.link.href, label: words.t(requirement.link.labelKey) } : null,
        error: errorKey === null ? null : words.t(errorKey),
        csrfToken: reply.formToken(),
        scripts: PASSKEY_SCRIPTS,
      },
      words.locale,
    )
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
      const device = trustedDeviceFor(readDeviceCookie(request, https), user.email)
      const throttle = secondFactorRules(deps.config, user.id, request.ip, device)
      await assertNotBlocked(deps, throttle, request.ip)
      const { code, credential } = request.body
      const kind: FactorKind | null =
        credential !== undefined && credential !== '' ? 'passkey' : code !== undefined && code.trim() !== '' ? 'code' : null
      // A factor that cannot reach the required acr is refused before it is checked: a code is
      // not used up, and nothing is learnt about it (so no failure is counted either).
      if (kind !== null && !reachesAcr(pending.amr, proofOf(kind), pending.requiredAcr)) {
        await deps.audit.record(
          'second_factor_failure',
          { userId: user.id, ip: request.ip, detail: { reason: 'insufficient_factor', factor: kind, required: pending.requiredAcr } },
          'second factor refused: it cannot reach the acr the application asks for',
        )
        const problem = pending.requiredAcr === ACR_PHISHING_RESISTANT && kind === 'code' ? PASSKEY_NEEDED : NOT_ENOUGH
        return renderSecondFactor(reply, pending, interaction, 403, problem)
      }
      let methods: AuthenticationMethod[] | null = null
      let problem = WRONG_CODE
      if (kind === 'passkey' && credential !== undefined) {
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
      } else if (kind === 'code' && code !== undefined) {
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
      // As login.ts does for passwords: a success clears this browser's own counter (a trusted
      // browser's only rule). The shared per-account and per-address counters of other browsers
      // stay: the owner's success must not hand someone guessing elsewhere a fresh budget.
      if (device !== null) await clearFailures(deps, throttle)
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
        const words = pageWords(deps, request)
        const html = views.render(
          'message',
          {
            title: words.t('factors.passkey_login.title'),
            message: words.t('factors.passkey_login.message'),
            link: {
              href: interaction ? `/login?${new URLSearchParams({ interaction: interaction.id }).toString()}` : '/login',
              label: client ? words.t('factors.passkey_login.back_to', { client: client.name }) : words.t('factors.passkey_login.back'),
            },
          },
          words.locale,
        )
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
