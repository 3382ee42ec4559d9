/**
 * What every page of the admin console shares: the signed-in admin of a request (set by the
 * console scope's access hook, access.ts), the words of its language, form fields, the fixed
 * notices shown after a change, durations in words, links, and rendering inside the console's
 * frame (the wide card and its menu).
 */
import { pageWords } from '../../page-locale.js'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../../deps.js'
import type { Translator } from '../../../i18n/translator.js'
import type { Actor } from '../../../model/actor.js'
import type { LoginSession } from '../../../model/session.js'
import type { User } from '../../../model/user.js'
import { sendPage, type Views } from '../../views/render.js'

/** The admin behind a console request: their session, their account, and the actor of their changes. */
export interface Admin {
  readonly session: LoginSession
  readonly user: User
  readonly actor: Actor
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every console route by the scope's access hook; null elsewhere. */
    consoleAdmin: Admin | null
  }
}

/** The admin of a console request (the scope's hook guarantees one). */
export function adminOf(request: FastifyRequest): Admin {
  if (request.consoleAdmin === null) throw new Error('admin console route reached without the access hook')
  return request.consoleAdmin
}

// Optional in the schemas so a missing token reaches the anti-forgery check (403), not validation (400).
const Csrf = { _csrf: Type.Optional(Type.String({ maxLength: 256 })) }
export const CsrfForm = Type.Object({ ...Csrf })
/** A destructive change posted from its confirmation page (the field only that page sends). */
export const ConfirmedForm = Type.Object({ confirm: Type.Literal('yes'), ...Csrf })
export const csrfFields = Csrf

export const NoticeQuery = Type.Object({ notice: Type.Optional(Type.String({ maxLength: 40 })) })
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) })

/** Fixed messages shown after a redirect (console.notice.*); the query names one, nothing from it is echoed. */
const NOTICES = {
  'client-deleted': 'console.notice.client_deleted',
  'client-updated': 'console.notice.client_updated',
  'user-disabled': 'console.notice.user_disabled',
  'user-enabled': 'console.notice.user_enabled',
  'roles-saved': 'console.notice.roles_saved',
  'factors-reset': 'console.notice.factors_reset',
  'user-deleted': 'console.notice.user_deleted',
  'session-ended': 'console.notice.session_ended',
  'sessions-ended': 'console.notice.sessions_ended',
  'key-rotated': 'console.notice.key_rotated',
  'key-revoked': 'console.notice.key_revoked',
} as const
export type Notice = keyof typeof NOTICES

export const noticeText = (words: Translator, notice: string | undefined): string | null =>
  notice !== undefined && Object.hasOwn(NOTICES, notice) ? words.t(NOTICES[notice as Notice]) : null

/** `path?notice=…`, for the 303 after a change. */
export const withNotice = (reply: FastifyReply, path: string, notice: Notice) =>
  reply.redirect(`${path}${path.includes('?') ? '&' : '?'}notice=${notice}`, 303)

export const clientHref = (id: string) => `/admin/clients/${encodeURIComponent(id)}`
export const userHref = (id: string) => `/admin/users/${encodeURIComponent(id)}`
export const keyHref = (kid: string) => `/admin/keys/${encodeURIComponent(kid)}`

/**
 * The words of a console page: the language page-locale.ts chose for the request (the admin's
 * saved choice, else their browser's). Every page renders in `words.locale`, so the route's
 * sentences and the template's agree.
 */
export const consoleWords = (deps: Pick<Deps, 'i18n'>, request: FastifyRequest): Translator => pageWords(deps, request)

/** A duration in the largest whole unit: `45 seconds`, `3 minutes`, `5 hours`, `12 days` (plurals in the catalogue). */
export function inWords(words: Translator, seconds: number): string {
  const units: readonly [number, string][] = [
    [86400, 'console.duration.days'],
    [3600, 'console.duration.hours'],
    [60, 'console.duration.minutes'],
  ]
  for (const [size, key] of units) {
    const count = Math.floor(seconds / size)
    if (count >= 1) return words.t(key, { count })
  }
  return words.t('console.duration.seconds', { count: Math.max(0, Math.floor(seconds)) })
}

/** The console's menu sections; the current one is marked on every page. */
export type Section = 'home' | 'clients' | 'users' | 'keys' | 'audit'

export interface ConsolePage {
  readonly title: string
  readonly section: Section
  readonly [key: string]: unknown
}

/** Renders a console template in the wide card with the console's menu, in the language of `words`. */
export function sendConsolePage(
  views: Views,
  reply: FastifyReply,
  words: Translator,
  template: string,
  data: ConsolePage,
  status = 200,
): FastifyReply {
  return sendPage(reply, views.render(template, { wide: true, ...data }, words.locale), status)
}

export interface Confirmation {
  readonly title: string
  readonly section: Section
  /** What will happen, in one sentence. */
  readonly message: string
  readonly detail?: string
  /** Where the confirmed form posts (with `confirm=yes` and the anti-forgery token). */
  readonly action: string
  readonly button: string
  readonly cancelHref: string
  /** Other hidden fields of the form. */
  readonly fields?: Readonly<Record<string, string>>
}

/** The page asking "really?" before a change that cannot be undone. */
export function sendConfirmation(views: Views, reply: FastifyReply, words: Translator, confirmation: Confirmation): FastifyReply {
  return sendConsolePage(views, reply, words, 'admin-confirm', {
    detail: null,
    fields: {},
    ...confirmation,
    csrfToken: reply.formToken(),
  })
}

/** A page of problems in the console's frame (a change refused, a key not yet ready…). */
export function sendConsoleMessage(
  views: Views,
  reply: FastifyReply,
  words: Translator,
  page: { title: string; section: Section; message: string; detail?: string; back: { href: string; label: string } },
  status: number,
): FastifyReply {
  return sendConsolePage(views, reply, words, 'admin-message', { detail: null, ...page }, status)
}
