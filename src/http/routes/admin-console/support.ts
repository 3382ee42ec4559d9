/**
 * What every page of the admin console shares: the signed-in admin of a request (set by the
 * console scope's access hook, access.ts), form fields, the fixed notices shown after a change,
 * times in words, links, and rendering inside the console's frame (the wide card and its menu).
 */
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
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

/** Fixed messages shown after a redirect; the query names one, nothing from it is echoed. */
const NOTICES = {
  'client-deleted': 'The client was deleted. Its tokens no longer work.',
  'client-updated': 'The client’s settings were saved.',
  'user-disabled': 'The account was disabled. Its sessions ended and its tokens were revoked.',
  'user-enabled': 'The account was enabled. The user can sign in again.',
  'roles-saved': 'The roles were saved. Tokens issued from now on carry them.',
  'factors-reset': 'The second factors were removed. The user was told by mail.',
  'user-deleted': 'The account and all its data were deleted.',
  'session-ended': 'The session was ended.',
  'sessions-ended': 'Every session of this user was ended.',
  'key-rotated': 'The keys were rotated: the next key signs now, the previous one stays published until its tokens expire.',
  'key-revoked': 'The key was revoked and removed from the published keys. Tokens it signed no longer verify.',
} as const
export type Notice = keyof typeof NOTICES

export const noticeText = (notice: string | undefined): string | null =>
  notice !== undefined && Object.hasOwn(NOTICES, notice) ? NOTICES[notice as Notice] : null

/** `path?notice=…`, for the 303 after a change. */
export const withNotice = (reply: FastifyReply, path: string, notice: Notice) =>
  reply.redirect(`${path}${path.includes('?') ? '&' : '?'}notice=${notice}`, 303)

export const clientHref = (id: string) => `/admin/clients/${encodeURIComponent(id)}`
export const userHref = (id: string) => `/admin/users/${encodeURIComponent(id)}`
export const keyHref = (kid: string) => `/admin/keys/${encodeURIComponent(kid)}`

/** Epoch seconds as `2026-01-31 14:05 UTC`. */
export const when = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'

/** A duration in the largest whole unit: `45 seconds`, `3 minutes`, `5 hours`, `12 days`. */
export function inWords(seconds: number): string {
  const units: readonly [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, name] of units) {
    const count = Math.floor(seconds / size)
    if (count >= 1) return `${count} ${name}${count === 1 ? '' : 's'}`
  }
  const whole = Math.max(0, Math.floor(seconds))
  return `${whole} second${whole === 1 ? '' : 's'}`
}

/** The console's menu sections; the current one is marked on every page. */
export type Section = 'home' | 'clients' | 'users' | 'keys' | 'audit'

export interface ConsolePage {
  readonly title: string
  readonly section: Section
  readonly [key: string]: unknown
}

/** Renders a console template in the wide card with the console's menu. */
export function sendConsolePage(views: Views, reply: FastifyReply, template: string, data: ConsolePage, status = 200): FastifyReply {
  return sendPage(reply, views.render(template, { wide: true, ...data }), status)
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
export function sendConfirmation(views: Views, reply: FastifyReply, confirmation: Confirmation): FastifyReply {
  return sendConsolePage(views, reply, 'admin-confirm', {
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
  page: { title: string; section: Section; message: string; detail?: string; back: { href: string; label: string } },
  status: number,
): FastifyReply {
  return sendConsolePage(views, reply, 'admin-message', { detail: null, ...page }, status)
}
