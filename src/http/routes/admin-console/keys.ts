/**
 * Signing keys in the console: every key with its state and age; a routine rotation (refused, with
 * the wait, while the next key is too new for every instance to publish it); an emergency
 * rotation and the break-glass revocation of one key, each after a confirmation page. The same
 * service functions as `idp keys` (keys/operations.ts), with the admin as actor.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Deps } from '../../../deps.js'
import { PageError } from '../../../errors/oauth-error.js'
import {
  KeyPromotionTooEarly,
  listSigningKeys,
  revokeSigningKey,
  rotateSigningKeys,
  UnknownSigningKey,
  type KeyRotation,
} from '../../../keys/operations.js'
import type { Translator } from '../../../i18n/translator.js'
import type { KeyState } from '../../../model/signing-key.js'
import type { Views } from '../../views/render.js'
import {
  adminOf,
  ConfirmedForm,
  consoleWords,
  CsrfForm,
  inWords,
  keyHref,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  withNotice,
} from './support.js'

const KidParams = Type.Object({ kid: Type.String({ minLength: 1, maxLength: 200 }) })

const STATES: Readonly<Record<KeyState, string>> = {
  active: 'console.keys.state_active',
  next: 'console.keys.state_next',
  retired: 'console.keys.state_retired',
  revoked: 'console.keys.state_revoked',
  archived: 'console.keys.state_archived',
}
const PUBLISHED: readonly KeyState[] = ['active', 'next', 'retired']

const NOT_FOUND = new PageError(404, 'errors.console_no_key')

export const keyPages: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** After a rotation: back to the list, or a page with what resource servers may see for a while. */
  function rotated(reply: FastifyReply, words: Translator, rotation: KeyRotation) {
    if (rotation.warning === null) return withNotice(reply, '/admin/keys', 'key-rotated')
    return sendConsoleMessage(
      views,
      reply,
      words,
      {
        title: words.t('console.keys.rotated_title'),
        section: 'keys',
        message: words.t('console.keys.rotated_message', { kid: rotation.activeKid }),
        // The warning is keys/operations.ts's own text (shared with `idp keys`), shown as it is.
        detail: words.t('console.keys.rotated_note', { warning: rotation.warning }),
        back: { href: '/admin/keys', label: words.t('console.keys.back') },
      },
      200,
    )
  }

  app.get('/admin/keys', { schema: { querystring: NoticeQuery }, config: { page: true } }, async (request, reply) => {
    const words = consoleWords(deps, request)
    const now = deps.clock.now()
    const keys = await listSigningKeys(deps)
    const order: readonly KeyState[] = ['active', 'next', 'retired', 'revoked', 'archived']
    const sorted = [...keys].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || b.createdAt - a.createdAt)
    return sendConsolePage(views, reply, words, 'admin-keys', {
      title: words.t('console.keys.title'),
      section: 'keys',
      notice: noticeText(words, request.query.notice),
      keys: sorted.map((key) => ({
        kid: key.kid,
        state: key.state,
        stateText: words.t(STATES[key.state]),
        alg: key.alg,
        created: key.createdAt,
        age: inWords(words, now - key.createdAt),
        activated: key.activatedAt,
        retires: key.state === 'retired' ? key.retiresAt : null,
        revokeHref: PUBLISHED.includes(key.state) ? `${keyHref(key.kid)}/revoke` : null,
      })),
      minAge: inWords(words, deps.config.keyRefreshInterval + deps.config.clockSkew),
      csrfToken: reply.formToken(),
    })
  })

  app.post(
    '/admin/keys/rotate',
    { schema: { body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      const words = consoleWords(deps, request)
      try {
        return rotated(reply, words, await rotateSigningKeys(deps, { immediately: false, actor: adminOf(request).actor }))
      } catch (error) {
        if (!(error instanceof KeyPromotionTooEarly)) throw error
        return sendConsoleMessage(
          views,
          reply,
          words,
          {
            title: words.t('console.keys.too_early_title'),
            section: 'keys',
            message: words.t('console.keys.too_early_message', { kid: error.kid, wait: inWords(words, error.waitSeconds) }),
            detail: words.t('console.keys.too_early_detail'),
            back: { href: '/admin/keys/rotate-now', label: words.t('console.keys.rotate_now_back') },
          },
          409,
        )
      }
    },
  )

  app.get('/admin/keys/rotate-now', { schema: { querystring: Type.Object({}) }, config: { page: true } }, async (request, reply) => {
    const words = consoleWords(deps, request)
    return sendConfirmation(views, reply, words, {
      title: words.t('console.keys.rotate_now_title'),
      section: 'keys',
      message: words.t('console.keys.rotate_now_message'),
      detail: words.t('console.keys.rotate_now_detail'),
      action: '/admin/keys/rotate-now',
      button: words.t('console.keys.rotate_now_button'),
      cancelHref: '/admin/keys',
    })
  })

  app.post(
    '/admin/keys/rotate-now',
    { schema: { body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) =>
      rotated(reply, consoleWords(deps, request), await rotateSigningKeys(deps, { immediately: true, actor: adminOf(request).actor })),
  )

  app.get('/admin/keys/:kid/revoke', { schema: { params: KidParams }, config: { page: true } }, async (request, reply) => {
    const key = (await listSigningKeys(deps)).find((candidate) => candidate.kid === request.params.kid)
    if (!key || !PUBLISHED.includes(key.state)) throw NOT_FOUND
    const words = consoleWords(deps, request)
    return sendConfirmation(views, reply, words, {
      title: words.t('console.keys.revoke_title'),
      section: 'keys',
      message: words.t('console.keys.revoke_message', { kid: key.kid, state: key.state, active: key.state === 'active' ? 'yes' : 'no' }),
      detail: words.t('console.keys.revoke_detail'),
      action: `${keyHref(key.kid)}/revoke`,
      button: words.t('console.keys.revoke_button'),
      cancelHref: '/admin/keys',
    })
  })

  app.post(
    '/admin/keys/:kid/revoke',
    { schema: { params: KidParams, body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      try {
        await revokeSigningKey(deps, request.params.kid, adminOf(request).actor)
      } catch (error) {
        throw error instanceof UnknownSigningKey ? NOT_FOUND : error
      }
      return withNotice(reply, '/admin/keys', 'key-revoked')
    },
  )
}
