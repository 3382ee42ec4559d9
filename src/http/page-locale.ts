/**
 * The language of a page (i18n/negotiate.ts has the order). Two steps, because an error may be
 * answered before a route's handler runs: at onRequest, from what the request says by itself
 * (`ui_locales` in the query of an /authorize link, Accept-Language); before the handler of a
 * page (before its schema is checked), refined with the sign-in it belongs to (the authorization request's `ui_locales`) and the
 * signed-in or signing-in user's choice. Reads only: the session is not touched here, and the rows
 * read are handed to the handler's own first read of them (page-reads.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { negotiateLocale } from '../i18n/negotiate.js'
import type { Locale } from '../i18n/locales.js'
import type { Translator } from '../i18n/translator.js'
import { hashSecret } from '../secrets.js'
import { cookieNames } from './session-cookie.js'
import { pendingLoginCookie } from './pending-login.js'
import { decoratePageReads, readForPage } from './page-reads.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The language of this request's page (set in the site scope; null elsewhere). */
    locale: Locale | null
  }
}

const stringField = (source: unknown, name: string): string | undefined => {
  const value = (source as Record<string, unknown> | null | undefined)?.[name]
  return typeof value === 'string' && value.length <= 128 ? value : undefined
}

/** The words of this request's page, in the language chosen above (the default where no hook ran). */
export const pageWords = (deps: Pick<Deps, 'i18n'>, request: FastifyRequest): Translator =>
  deps.i18n.translator(request.locale ?? deps.i18n.defaultLocale)

/** What the request says by itself: enough for an error page (also used where no hook ran). */
export function requestLocale(request: FastifyRequest, defaultLocale: Locale): Locale {
  return negotiateLocale({
    uiLocales: stringField(request.query, 'ui_locales') ?? null,
    acceptLanguage: request.headers['accept-language'] ?? null,
    defaultLocale,
  })
}

async function signInContext(deps: Deps, request: FastifyRequest): Promise<{ uiLocales: string | null; userId: string | null }> {
  const now = deps.clock.now()
  let interactionId = stringField(request.query, 'interaction') ?? stringField(request.body, 'interaction') ?? null
  let userId: string | null = null
  const pendingRaw = request.cookies[pendingLoginCookie(deps.config.issuerIsHttps)]
  if (pendingRaw !== undefined && pendingRaw.length <= 128) {
    const pending = await deps.repos.pendingLogins.findLive(hashSecret(pendingRaw), now)
    if (pending) {
      userId = pending.userId
      interactionId ??= pending.interactionId
    }
  }
  const sessionRaw = request.cookies[cookieNames(deps.config.issuerIsHttps).session]
  if (userId === null && sessionRaw !== undefined && sessionRaw.length <= 128) {
    const hash = hashSecret(sessionRaw)
    userId = (await readForPage(request, 'session', hash, () => deps.repos.sessions.findLive(hash, now)))?.userId ?? null
  }
  const id = interactionId
  const interaction = id ? await readForPage(request, 'interaction', id, () => deps.repos.interactions.findLive(id, now)) : undefined
  return { uiLocales: interaction?.request.uiLocales ?? null, userId }
}

export function registerPageLocale(site: FastifyInstance, deps: Deps): void {
  const defaultLocale = deps.config.defaultLocale
  decoratePageReads(site)
  site.addHook('onRequest', async (request) => {
    request.locale = requestLocale(request, defaultLocale)
  })
  // preValidation: the body is parsed by then, and a form refused by its schema answers in this language too.
  site.addHook('preValidation', async (request) => {
    if ((request.routeOptions.config as { page?: boolean } | undefined)?.page !== true) return
    const { uiLocales, userId } = await signInContext(deps, request)
    const id = userId
    const user = id === null ? undefined : await readForPage(request, 'user', id, () => deps.repos.users.findById(id))
    request.locale = negotiateLocale({
      uiLocales: uiLocales ?? stringField(request.query, 'ui_locales') ?? null,
      preference: user?.locale ?? null,
      acceptLanguage: request.headers['accept-language'] ?? null,
      defaultLocale,
    })
  })
}
