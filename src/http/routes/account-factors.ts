/**
 * Second factors on the account page (registered inside the account scope, whose preHandler has
 * loaded the signed-in user): add, name and remove passkeys; set up and remove an authenticator
 * app; make new recovery codes; and the enrolment page a client or a role can require, which
 * continues the waiting authorization afterwards. Every change needs a recent sign-in: a stolen
 * session must not be able to add its own factor.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import QRCode from 'qrcode'
import type { Deps } from '../../deps.js'
import { completeRegistration, PasskeyRejected, registrationOptions, removePasskey } from '../../factors/passkeys.js'
import { renewRecoveryCodes } from '../../factors/recovery-codes.js'
import { dropOrphanedRecoveryCodes, factorsOf } from '../../factors/summary.js'
import { beginTotpSetup, confirmTotp, pendingTotpSetup, removeTotp } from '../../factors/totp.js'
import type { Interaction } from '../../model/interaction.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import { continueAfterLogin } from '../authorization.js'
import { allowFormRedirects } from '../plugins/security-headers.js'
import { staleSignInPage } from '../recent-sign-in.js'
import { sendPage, type Views } from '../views/render.js'
import { EXPIRED_PAGE, PASSKEY_SCRIPTS } from './login.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const InteractionField = { interaction: Type.Optional(Type.String({ maxLength: 64 })) }
const InteractionQuery = Type.Object({ ...InteractionField })
const PasskeyForm = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 256 })),
  credential: Type.String({ maxLength: 16384 }),
  ...InteractionField,
  ...Csrf,
})
const RemovePasskeyForm = Type.Object({ id: Type.String({ maxLength: 1024 }), ...Csrf })
const CodeForm = Type.Object({ code: Type.String({ maxLength: 64 }), ...InteractionField, ...Csrf })
const PlainForm = Type.Object({ ...InteractionField, ...Csrf })

interface SignedIn {
  readonly session: LoginSession
  readonly user: User
}

export const accountFactorRoutes: FastifyPluginAsyncTypebox<{
  deps: Deps
  views: Views
  signedIn: (request: FastifyRequest) => SignedIn
}> = async (app, { deps, views, signedIn }) => {
  /** A parked authorization this browser's session is enrolling for (enrolment required by policy). */
  async function enrolmentFor(interactionId: string | undefined, session: LoginSession): Promise<Interaction | null> {
    if (interactionId === undefined || interactionId === '') return null
    const interaction = await deps.repos.interactions.findLive(interactionId, deps.clock.now())
    if (!interaction || interaction.sessionIdHash !== session.idHash) throw EXPIRED_PAGE
    return interaction
  }

  /** Where to go when a change is done: the waiting application, or the account page with a notice. */
  const onward = (interaction: Interaction | null, notice: string) =>
    interaction ? `/continue?${new URLSearchParams({ interaction: interaction.id }).toString()}` : `/account?notice=${notice}`

  const wordsFor = (request: FastifyRequest) => pageWords(deps, request)

  /** Changes need a recent sign-in; otherwise a page asking for one (nothing changes). */
  const staleSignIn = (reply: FastifyReply, session: LoginSession) => staleSignInPage(deps, views, reply, session)

  /** Shown once: after the first second factor, and when the user asks for new codes. */
  function showRecoveryCodes(reply: FastifyReply, codes: readonly string[], interaction: Interaction | null) {
    const words = wordsFor(reply.request)
    const html = views.render(
      'recovery-codes',
      { title: words.t('factors.recovery.title'), codes, continueHref: onward(interaction, 'recovery-codes-saved') },
      words.locale,
    )
    return sendPage(reply, html)
  }

  /** After a factor was added: the first one comes with recovery codes, later ones go straight on. */
  async function factorAdded(reply: FastifyReply, user: User, interaction: Interaction | null, notice: string) {
    if ((await factorsOf(deps, user.id)).recoveryCodes === 0)
      return showRecoveryCodes(reply, await renewRecoveryCodes(deps, user, false), interaction)
    return reply.redirect(onward(interaction, notice), 303)
  }

  function passkeyFailed(reply: FastifyReply, interaction: Interaction | null) {
    const words = wordsFor(reply.request)
    const html = views.render(
      'message',
      {
        title: words.t('factors.passkey_add.failed_title'),
        message: words.t('factors.passkey_add.failed_message'),
        link: {
          href: interaction ? `/account/second-factor?${new URLSearchParams({ interaction: interaction.id }).toString()}` : '/account',
          label: words.t('factors.passkey_add.try_again'),
        },
      },
      words.locale,
    )
    return sendPage(reply, html, 400)
  }

  app.get('/account/second-factor', { schema: { querystring: InteractionQuery }, config: { page: true } }, async (request, reply) => {
    const { session, user } = signedIn(request)
    const interaction = await enrolmentFor(request.query.interaction, session)
    const client = interaction ? await deps.clients.find(interaction.request.clientId) : undefined
    const factors = await factorsOf(deps, user.id)
    const words = wordsFor(request)
    const html = views.render(
      'enrol',
      {
        title: words.t('factors.enrol.title'),
        clientName: client?.name ?? null,
        interaction: interaction?.id ?? '',
        done: factors.passkeys > 0 || factors.totp,
        continueHref: onward(interaction, 'second-factor-ready'),
        csrfToken: reply.formToken(),
        scripts: PASSKEY_SCRIPTS,
      },
      words.locale,
    )
    return sendPage(reply, html)
  })

  // JSON for the page's script.
  app.post('/account/passkeys/options', { schema: { body: PlainForm }, preHandler: app.formGuards }, async (request, reply) => {
    const { user } = signedIn(request)
    return reply.header('cache-control', 'no-store').send(await registrationOptions(deps, user))
  })

  app.post(
    '/account/passkeys',
    { schema: { body: PasskeyForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const interaction = await enrolmentFor(request.body.interaction, session)
      const stale = staleSignIn(reply, session)
      if (stale) return stale
      try {
        await completeRegistration(deps, user, request.body.credential, request.body.name ?? '')
      } catch (error) {
        if (!(error instanceof PasskeyRejected)) throw error
        await deps.audit.record(
          'passkey_failure',
          { userId: user.id, ip: request.ip, detail: { reason: error.reason, stage: 'registration' } },
          'passkey registration refused',
        )
        return passkeyFailed(reply, interaction)
      }
      return factorAdded(reply, user, interaction, 'passkey-added')
    },
  )

  app.post(
    '/account/passkeys/remove',
    { schema: { body: RemovePasskeyForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const stale = staleSignIn(reply, session)
      if (stale) return stale
      if (await removePasskey(deps, user, request.body.id)) await dropOrphanedRecoveryCodes(deps, user.id)
      return reply.redirect('/account?notice=passkey-removed', 303)
    },
  )

  app.post(
    '/account/totp/setup',
    { schema: { body: PlainForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const interaction = await enrolmentFor(request.body.interaction, session)
      const stale = staleSignIn(reply, session)
      if (stale) return stale
      if (!(await beginTotpSetup(deps, user))) return reply.redirect('/account?notice=totp-exists', 303)
      return reply.redirect(`/account/totp${interaction ? `?${new URLSearchParams({ interaction: interaction.id }).toString()}` : ''}`, 303)
    },
  )

  async function renderTotpSetup(
    reply: FastifyReply,
    user: User,
    interaction: Interaction | null,
    problemKey: string | null,
    status: number,
  ) {
    const setup = await pendingTotpSetup(deps, user)
    if (!setup) return reply.redirect('/account', 303)
    const svg = await QRCode.toString(setup.uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })
    const words = wordsFor(reply.request)
    const html = views.render(
      'totp-setup',
      {
        title: words.t('factors.totp.title'),
        qrCode: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
        secret: setup.secret.match(/.{1,4}/g)!.join(' '),
        interaction: interaction?.id ?? '',
        problem: problemKey === null ? null : words.t(problemKey),
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    return sendPage(reply, html, status)
  }

  app.get('/account/totp', { schema: { querystring: InteractionQuery }, config: { page: true } }, async (request, reply) => {
    const { session, user } = signedIn(request)
    return renderTotpSetup(reply, user, await enrolmentFor(request.query.interaction, session), null, 200)
  })

  app.post('/account/totp', { schema: { body: CodeForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const { session, user } = signedIn(request)
    const interaction = await enrolmentFor(request.body.interaction, session)
    const stale = staleSignIn(reply, session)
    if (stale) return stale
    if (!(await confirmTotp(deps, user, request.body.code))) {
      // Audited like any refused code (docs/security.md §H), marked as a setup: a signed-in user's
      // typo, or a stolen session trying to attach its own app.
      await deps.audit.record(
        'second_factor_failure',
        { userId: user.id, ip: request.ip, detail: { factor: 'totp', stage: 'setup' } },
        'authenticator app setup refused: wrong code',
      )
      return renderTotpSetup(reply, user, interaction, 'factors.totp.wrong_code', 400)
    }
    return factorAdded(reply, user, interaction, 'totp-added')
  })

  app.post(
    '/account/totp/remove',
    { schema: { body: PlainForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const stale = staleSignIn(reply, session)
      if (stale) return stale
      if (await removeTotp(deps, user)) await dropOrphanedRecoveryCodes(deps, user.id)
      return reply.redirect('/account?notice=totp-removed', 303)
    },
  )

  app.post(
    '/account/recovery-codes',
    { schema: { body: PlainForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      const stale = staleSignIn(reply, session)
      if (stale) return stale
      const factors = await factorsOf(deps, user.id)
      if (factors.passkeys === 0 && !factors.totp) return reply.redirect('/account', 303)
      return showRecoveryCodes(reply, await renewRecoveryCodes(deps, user, true), null)
    },
  )

  // After an enrolment the policy asked for: the waiting authorization goes on from here.
  app.get(
    '/continue',
    { schema: { querystring: Type.Object({ interaction: Type.String({ maxLength: 64 }) }) }, config: { page: true } },
    async (request, reply) => {
      const { session } = signedIn(request)
      const interaction = await enrolmentFor(request.query.interaction, session)
      if (!interaction) throw EXPIRED_PAGE
      allowFormRedirects(reply, [interaction.request.redirectUri])
      return reply.redirect(await continueAfterLogin(deps, reply, interaction.id, interaction.request, session), 303)
    },
  )
}
