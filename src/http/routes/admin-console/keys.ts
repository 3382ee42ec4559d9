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
import type { KeyState } from '../../../model/signing-key.js'
import type { Views } from '../../views/render.js'
import {
  adminOf,
  ConfirmedForm,
  CsrfForm,
  inWords,
  keyHref,
  noticeText,
  NoticeQuery,
  sendConfirmation,
  sendConsoleMessage,
  sendConsolePage,
  when,
  withNotice,
} from './support.js'

const KidParams = Type.Object({ kid: Type.String({ minLength: 1, maxLength: 200 }) })

const STATES: Readonly<Record<KeyState, string>> = {
  active: 'Active: signs tokens',
  next: 'Next: published, signs after the next rotation',
  retired: 'Retired: published until its tokens expire',
  revoked: 'Revoked',
  archived: 'Archived',
}
const PUBLISHED: readonly KeyState[] = ['active', 'next', 'retired']

const NOT_FOUND = new PageError(404, 'errors.console_no_key')

export const keyPages: FastifyPluginAsyncTypebox<{ deps: Deps; views: Views }> = async (app, { deps, views }) => {
  /** After a rotation: back to the list, or a page with what resource servers may see for a while. */
  function rotated(reply: FastifyReply, rotation: KeyRotation) {
    if (rotation.warning === null) return withNotice(reply, '/admin/keys', 'key-rotated')
    return sendConsoleMessage(
      views,
      reply,
      {
        title: 'Keys rotated',
        section: 'keys',
        message: `Key ${rotation.activeKid} signs now; the previous key stays published until its tokens expire.`,
        detail: `Note: ${rotation.warning}.`,
        back: { href: '/admin/keys', label: 'Back to the keys' },
      },
      200,
    )
  }

  app.get('/admin/keys', { schema: { querystring: NoticeQuery }, config: { page: true } }, async (request, reply) => {
    const now = deps.clock.now()
    const keys = await listSigningKeys(deps)
    const order: readonly KeyState[] = ['active', 'next', 'retired', 'revoked', 'archived']
    const sorted = [...keys].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || b.createdAt - a.createdAt)
    return sendConsolePage(views, reply, 'admin-keys', {
      title: 'Signing keys',
      section: 'keys',
      notice: noticeText(request.query.notice),
      keys: sorted.map((key) => ({
        kid: key.kid,
        state: key.state,
        stateText: STATES[key.state],
        alg: key.alg,
        created: when(key.createdAt),
        age: inWords(now - key.createdAt),
        activated: key.activatedAt === null ? null : when(key.activatedAt),
        retires: key.state === 'retired' && key.retiresAt !== null ? when(key.retiresAt) : null,
        revokeHref: PUBLISHED.includes(key.state) ? `${keyHref(key.kid)}/revoke` : null,
      })),
      minAge: inWords(deps.config.keyRefreshInterval + deps.config.clockSkew),
      csrfToken: reply.formToken(),
    })
  })

  app.post(
    '/admin/keys/rotate',
    { schema: { body: CsrfForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => {
      try {
        return rotated(reply, await rotateSigningKeys(deps, { immediately: false, actor: adminOf(request).actor }))
      } catch (error) {
        if (!(error instanceof KeyPromotionTooEarly)) throw error
        return sendConsoleMessage(
          views,
          reply,
          {
            title: 'Not yet',
            section: 'keys',
            message: `The next key ${error.kid} can sign in ${inWords(error.waitSeconds)}: first every instance must publish it, so that no token is signed by a key some instance does not serve yet.`,
            detail: 'Try again then. In an emergency (a key may be compromised), rotate now instead.',
            back: { href: '/admin/keys/rotate-now', label: 'Rotate now (emergency)' },
          },
          409,
        )
      }
    },
  )

  app.get('/admin/keys/rotate-now', { schema: { querystring: Type.Object({}) }, config: { page: true } }, async (_request, reply) =>
    sendConfirmation(views, reply, {
      title: 'Rotate the keys now?',
      section: 'keys',
      message: 'The next key starts signing at once, even if some instance does not publish it yet; the active key retires.',
      detail:
        'For emergencies only. Resource servers that have not fetched the new key yet may reject new tokens until they refresh their copy of the published keys.',
      action: '/admin/keys/rotate-now',
      button: 'Rotate now',
      cancelHref: '/admin/keys',
    }),
  )

  app.post(
    '/admin/keys/rotate-now',
    { schema: { body: ConfirmedForm }, config: { page: true }, preHandler: app.formGuards },
    async (request, reply) => rotated(reply, await rotateSigningKeys(deps, { immediately: true, actor: adminOf(request).actor })),
  )

  app.get('/admin/keys/:kid/revoke', { schema: { params: KidParams }, config: { page: true } }, async (request, reply) => {
    const key = (await listSigningKeys(deps)).find((candidate) => candidate.kid === request.params.kid)
    if (!key || !PUBLISHED.includes(key.state)) throw NOT_FOUND
    return sendConfirmation(views, reply, {
      title: 'Revoke this key?',
      section: 'keys',
      message: `Key ${key.kid} (${key.state}) leaves the published keys at once, and every token it signed stops verifying here.${key.state === 'active' ? ' Another key signs from now on.' : ''}`,
      detail:
        'Break-glass, for a key that may be compromised. Resource servers that verify tokens themselves accept its tokens until they refresh their copy of the published keys: tell them to.',
      action: `${keyHref(key.kid)}/revoke`,
      button: 'Revoke the key',
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
