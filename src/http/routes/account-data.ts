/**
 * The user's own data on the account page (registered inside the account scope, whose preHandler
 * has loaded the signed-in user): download it as JSON, and delete the account after a
 * confirmation page that asks for the current password (or, without one, a fresh sign-in) and an
 * explicit tick. The work is in accounts/self-service.ts; these routes only speak HTTP.
 */
import { pageWords } from '../page-locale.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  DELETION_SIGN_IN_WINDOW,
  deleteOwnAccount,
  deletionOutlook,
  exportOwnData,
  type DeletionOutlook,
  type DeletionRefusal,
} from '../../accounts/self-service.js'
import type { Deps } from '../../deps.js'
import type { LoginSession } from '../../model/session.js'
import type { User } from '../../model/user.js'
import { assertNotBlocked, countRequest, recordFailures } from '../../throttle/guard.js'
import { passwordChangeRules, quotaPolicy } from '../../throttle/rules.js'
import { clearSessionCookie } from '../session-cookie.js'
import { sendPage, type Views } from '../views/render.js'

const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
const EmptyForm = Type.Object({ ...Csrf })
const DeleteForm = Type.Object({
  password: Type.Optional(Type.String({ maxLength: 4096 })),
  confirm: Type.Optional(Type.String({ maxLength: 16 })),
  username: Type.Optional(Type.String({ maxLength: 1024 })),
  ...Csrf,
})

/** Exports a signed-in user may download per 15 minutes: each one reads a lot and is an audit event. */
const EXPORTS = 10

/** Message keys of the problems shown, by field ('form': above the form). */
type Problems = Partial<Record<'password' | 'confirm' | 'form', string>>

/** What each refusal tells the user, and on which field. */
const REFUSALS: Readonly<Record<DeletionRefusal['problem'], { status: number; problems: Problems }>> = {
  wrong_password: { status: 400, problems: { password: 'account.delete.wrong_password' } },
  not_confirmed: { status: 400, problems: { confirm: 'account.delete.not_confirmed' } },
  stale_sign_in: { status: 403, problems: { form: 'account.delete.stale_sign_in' } },
  last_admin: { status: 403, problems: {} },
}

/** The date in the download's file name (a name, not words for people: ISO). */
const today = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10)

export const accountDataRoutes: FastifyPluginAsyncTypebox<{
  deps: Deps
  views: Views
  signedIn: (request: FastifyRequest) => { session: LoginSession; user: User }
}> = async (app, { deps, views, signedIn }) => {
  const translator = (reply: FastifyReply) => pageWords(deps, reply.request)

  function renderConfirmation(
    reply: FastifyReply,
    user: User,
    outlook: DeletionOutlook,
    options: { problems?: Problems; status?: number } = {},
  ): FastifyReply {
    const words = translator(reply)
    const html = views.render(
      'account-delete',
      {
        title: words.t('account.delete.title'),
        email: user.email,
        lastAdmin: outlook.lastAdmin,
        usesPassword: outlook.reauthentication.kind === 'password',
        // Without a password the proof is a fresh sign-in: a stale one shows the way to get one.
        needsSignIn: outlook.reauthentication.kind === 'recent-sign-in' && !outlook.reauthentication.recent,
        signInMinutes: Math.round(DELETION_SIGN_IN_WINDOW / 60),
        problems: Object.fromEntries(Object.entries(options.problems ?? {}).map(([field, key]) => [field, words.t(key)])),
        csrfToken: reply.formToken(),
      },
      words.locale,
    )
    return sendPage(reply, html, options.status ?? 200)
  }

  app.post('/account/data', { schema: { body: EmptyForm }, config: { page: true }, preHandler: app.formGuards }, async (request, reply) => {
    const { user } = signedIn(request)
    await countRequest(deps, [{ key: `data-export:${user.id}`, policy: quotaPolicy(EXPORTS) }], request.ip)
    const document = await exportOwnData(deps, user)
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="account-data-${today(deps.clock.now())}.json"`)
      .type('application/json; charset=utf-8')
      .send(`${JSON.stringify(document, null, 2)}\n`)
  })

  app.get('/account/delete', { config: { page: true } }, async (request, reply) => {
    const { session, user } = signedIn(request)
    return renderConfirmation(reply, user, await deletionOutlook(deps, user, session))
  })

  app.post(
    '/account/delete',
    { schema: { body: DeleteForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const { session, user } = signedIn(request)
      // The same counter as the password change: the two forms together are one guessing budget.
      const throttle = passwordChangeRules(deps.config, user.id)
      await assertNotBlocked(deps, throttle, request.ip)
      const result = await deleteOwnAccount(deps, {
        user,
        session,
        password: request.body.password ?? '',
        confirmed: request.body.confirm === 'yes',
        ip: request.ip,
      })
      if (!result.ok) {
        if (result.problem === 'wrong_password') await recordFailures(deps, throttle)
        const { status, problems } = REFUSALS[result.problem]
        return renderConfirmation(reply, user, await deletionOutlook(deps, user, session), { problems, status })
      }
      clearSessionCookie(deps, reply)
      // The page's language was settled before the account went (page-locale.ts), so it is still the user's.
      const words = translator(reply)
      const html = views.render(
        'message',
        {
          title: words.t('account.deleted.title'),
          message: words.t('account.deleted.message'),
          detail: words.t('account.deleted.detail', { email: result.email }),
        },
        words.locale,
      )
      return sendPage(reply, html)
    },
  )
}
