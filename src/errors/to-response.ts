/**
 * The one place errors become responses. OAuth endpoints answer RFC 6749 §5.2 JSON; browser
 * pages answer an escaped HTML page; anything unexpected is a 500 with a fixed text, logged in
 * full but never shown (no stack traces, SQL or paths leave the server).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError, PageError, UnsafeAuthorizeError } from './oauth-error.js'
import { isDatabaseUnavailable } from '../db/availability.js'
import { TemporarilyUnavailable } from './unavailable.js'
import { DPOP_ALGORITHMS } from '../oauth/dpop.js'
import type { MessageValues } from '../i18n/translator.js'

/** The catalogue words of an error page: `<key>.title` and `<key>.description`. */
export interface PageWords {
  readonly key: string
  readonly values?: MessageValues
}

export class RateLimited extends Error {
  readonly statusCode = 429
  constructor(readonly retryAfterSeconds: number) {
    super('too many requests')
    this.name = 'RateLimited'
  }
}

export interface ErrorView {
  readonly status: number
  readonly title: string
  readonly description: string
  readonly error?: string
  /**
   * What an HTML page says, for people, in their language: the messages `<key>.title` and
   * `<key>.description` of the `errors` catalogue (title and description above are the protocol
   * text, kept for JSON answers and the client's developer).
   */
  readonly page: PageWords
  /** On a page, the protocol text kept for the client's developer, under a closed disclosure. */
  readonly detail?: string
}

/** Renders an error page in the request's language. */
export type PageRenderer = (view: ErrorView, request: FastifyRequest) => string

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

const waitInWords = (seconds: number): string =>
  seconds <= 90 ? `${Math.max(1, Math.ceil(seconds))} seconds` : `${Math.ceil(seconds / 60)} minutes`

/** The wait as the catalogue's plural messages take it: seconds up to 90, then minutes. */
const waitValues = (seconds: number): MessageValues =>
  seconds <= 90 ? { seconds: Math.max(1, Math.ceil(seconds)), minutes: 0 } : { seconds: 0, minutes: Math.ceil(seconds / 60) }

/** Which kind of response the route produces: set with `config: { page: true }` on HTML routes. */
const isPageRoute = (request: FastifyRequest): boolean => (request.routeOptions.config as { page?: boolean } | undefined)?.page === true

/** A page's words for a request refused in protocol terms (a bad parameter, a malformed form). */
const REFUSED_PAGE: PageWords = { key: 'errors.refused' }

/**
 * The words of a sign-in link refused before its application and return address are known good
 * (the page never sends the person back there): what happened and where to go, in plain words.
 * The technical reason stays in the log and in the error code shown for support.
 */
function unsafeAuthorizePage(error: UnsafeAuthorizeError): PageWords {
  if (error.error === 'invalid_client') return { key: 'errors.unknown_client' }
  if (error.error === 'invalid_request_uri') return { key: 'errors.link_expired' }
  return { key: 'errors.link_invalid' }
}

/** Classifies any thrown value into a safe view plus headers. */
export function describeError(error: unknown): { view: ErrorView; headers: Record<string, string>; expected: boolean } {
  if (error instanceof OAuthError) {
    const headers: Record<string, string> = {}
    if (error.error === 'invalid_client' && error.status === 401) headers['www-authenticate'] = 'Basic realm="tessera", charset="UTF-8"'
    if (error.dpopNonce !== undefined) headers['dpop-nonce'] = error.dpopNonce
    if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)))
    const resourceError = error.error === 'invalid_token' || error.error === 'insufficient_scope'
    // At a resource endpoint (401) the DPoP proof errors are challenges too; at /token they are plain 400s.
    const proofChallenge = error.status === 401 && (error.error === 'invalid_dpop_proof' || error.error === 'use_dpop_nonce')
    if (error.unauthenticated) {
      // RFC 6750 §3.1: no credentials, so no error code; one challenge per scheme the endpoint takes,
      // the DPoP one naming the algorithms a proof may use (RFC 9449 §7.1). The JSON body still says
      // invalid_token: every OAuth error body here names its error.
      headers['www-authenticate'] = `Bearer realm="tessera", DPoP realm="tessera", algs="${DPOP_ALGORITHMS.join(' ')}"`
    } else if (resourceError || proofChallenge) {
      // RFC 9449 §7.1: a DPoP challenge names the algorithms a proof may use.
      const algs = error.challenge === 'DPoP' ? `, algs="${DPOP_ALGORITHMS.join(' ')}"` : ''
      headers['www-authenticate'] =
        `${error.challenge} realm="tessera", error="${error.error}", error_description="${error.description.replace(/["\\]/g, '')}"${algs}`
    }
    return {
      view: { status: error.status, title: 'Request refused', description: error.description, error: error.error, page: REFUSED_PAGE },
      headers,
      expected: error.status < 500,
    }
  }
  if (error instanceof UnsafeAuthorizeError) {
    return {
      view: {
        status: 400,
        title: 'This sign-in link is not valid',
        description: error.description,
        error: error.error,
        page: unsafeAuthorizePage(error),
      },
      headers: {},
      expected: true,
    }
  }
  if (error instanceof PageError)
    return {
      view: { status: error.status, title: error.key, description: error.key, page: { key: error.key, values: error.values } },
      headers: {},
      expected: true,
    }
  if (error instanceof RateLimited) {
    return {
      // Pages show the wait; the rare JSON answer uses RFC 6749's registered temporarily_unavailable.
      view: {
        status: 429,
        title: 'Too many attempts',
        description: `Too many attempts. Try again in ${waitInWords(error.retryAfterSeconds)}.`,
        error: 'temporarily_unavailable',
        page: { key: 'errors.too_many_attempts', values: waitValues(error.retryAfterSeconds) },
      },
      headers: { 'retry-after': String(error.retryAfterSeconds) },
      expected: true,
    }
  }
  const fastifyError = error as Partial<FastifyError>
  if (fastifyError.validation !== undefined) {
    return {
      view: {
        status: 400,
        title: 'Request refused',
        description: 'the request is malformed',
        error: 'invalid_request',
        page: REFUSED_PAGE,
      },
      headers: {},
      expected: true,
    }
  }
  if (fastifyError.code === 'FST_CSRF_INVALID_TOKEN' || fastifyError.code === 'FST_CSRF_MISSING_SECRET') {
    return {
      view: {
        status: 403,
        title: 'Form expired',
        description: 'This form is no longer valid. Go back, reload the page and try again.',
        error: 'invalid_request',
        page: { key: 'errors.form_expired' },
      },
      headers: {},
      expected: true,
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Body-parser and routing errors from Fastify itself: keep the status, hide the text.
    return {
      view: { status, title: 'Request refused', description: 'the request is malformed', error: 'invalid_request', page: REFUSED_PAGE },
      headers: {},
      expected: true,
    }
  }
  const unavailable = error instanceof TemporarilyUnavailable
  if (unavailable || isDatabaseUnavailable(error)) {
    return {
      view: {
        status: 503,
        title: 'Temporarily unavailable',
        description: 'The service is temporarily unavailable. Try again in a moment.',
        error: 'temporarily_unavailable',
        page: { key: 'errors.unavailable' },
      },
      headers: { 'retry-after': String(unavailable ? error.retryAfterSeconds : 5) },
      expected: false,
    }
  }
  return {
    view: {
      status: 500,
      title: 'Something went wrong',
      description: 'The server could not complete the request.',
      error: 'server_error',
      page: { key: 'errors.server_error' },
    },
    headers: {},
    expected: false,
  }
}

/** An error page that cannot fail: if the template itself breaks, a fixed page (and the cause is logged). */
function safelyRendered(renderPage: PageRenderer, view: ErrorView, request: FastifyRequest): string {
  try {
    return renderPage(view, request)
  } catch (failure) {
    request.log.error({ err: failure }, 'the error page could not be rendered')
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head><body><h1>Something went wrong</h1><p>The server could not complete the request.</p></body></html>`
  }
}

/** A 503 is a warning, not an error: what was gone comes back by itself (the database, a signing thread). */
export function logUnavailable(error: unknown, request: FastifyRequest): void {
  const reason = (error as Error).message
  if (error instanceof TemporarilyUnavailable) request.log.warn({ event: 'temporarily_unavailable', reason }, 'temporarily unavailable')
  else request.log.warn({ event: 'database_unavailable', reason }, 'database unavailable')
}

/** The security header sets of the two kinds of answer (security-headers.ts). */
export interface ResponseHeaderSets {
  readonly page: Readonly<Record<string, string>>
  readonly json: Readonly<Record<string, string>>
}

/**
 * `securityHeaders`: set here when the error may be answered outside a scope that sets them
 * (the root error and not-found handlers).
 */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  renderPage: PageRenderer,
  securityHeaders?: ResponseHeaderSets,
): FastifyReply {
  const { view, headers, expected } = describeError(error)
  if (expected)
    request.log.info(
      { refused: { name: (error as Error).name, message: (error as Error).message, detail: (error as OAuthError).detail } },
      'request refused',
    )
  else if (view.status === 503) logUnavailable(error, request)
  else request.log.error({ err: error }, 'unexpected error')
  reply.status(view.status).headers({ ...NO_STORE, ...headers })
  if (isPageRoute(request) || error instanceof UnsafeAuthorizeError || error instanceof PageError) {
    if (securityHeaders) reply.headers(securityHeaders.page)
    // People read the plain words; the protocol reason stays on the page for the client's developer
    // (only for a refusal in protocol terms; never for a 500, whose description says nothing).
    const protocolRefusal = error instanceof OAuthError || error instanceof UnsafeAuthorizeError || view.page === REFUSED_PAGE
    const detail = error instanceof PageError ? error.detail : protocolRefusal && view.status < 500 ? view.description : undefined
    return reply
      .type('text/html; charset=utf-8')
      .send(safelyRendered(renderPage, { ...view, ...(detail === undefined ? {} : { detail }) }, request))
  }
  if (securityHeaders) reply.headers(securityHeaders.json)
  return reply.type('application/json; charset=utf-8').send({ error: view.error ?? 'server_error', error_description: view.description })
}
