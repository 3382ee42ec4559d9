/**
 * RFC 9457 problem details, the error format of the admin API: `application/problem+json` with
 * `type`, `title`, `status`, `detail` and, for invalid input, `errors` naming each bad member.
 * One function turns any thrown value into a problem (`describeProblem`), the same way
 * to-response.ts turns it into an OAuth error or a page: OAuth token errors keep their
 * `WWW-Authenticate` challenge (RFC 6750 §3), and anything unexpected is a 500 with a fixed text,
 * logged in full but never shown.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError } from './oauth-error.js'
import { describeError, logUnavailable } from './to-response.js'
import { DPOP_ALGORITHMS } from '../oauth/dpop.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/**
 * Tessera's problem types: `urn:tessera:problem:<kind>`, each with its one title (RFC 9457 §3.1.3:
 * the title does not change from occurrence to occurrence; `detail` explains this one).
 */
const TITLES = {
  'invalid-token': 'The access token is missing or not valid',
  'insufficient-scope': 'The access token lacks a scope this request needs',
  'invalid-request': 'The request is malformed',
  'validation-error': 'The request does not match the schema',
  'invalid-input': 'A value is not acceptable',
  'invalid-cursor': 'The cursor is not valid',
  'not-found': 'No such resource',
  conflict: 'The request conflicts with the current state',
  'idempotency-key-reused': 'The idempotency key was used for another request',
  'idempotency-key-in-use': 'A request with this idempotency key is still running',
  'too-early': 'Not yet',
  'rate-limited': 'Too many requests',
  unavailable: 'Temporarily unavailable',
  'server-error': 'Something went wrong',
} as const

export type ProblemKind = keyof typeof TITLES

export const problemType = (kind: ProblemKind): string => `urn:tessera:problem:${kind}`

/** One invalid member of the request: `pointer` (RFC 6901, into the body) or `parameter` (query or path). */
export interface ProblemError {
  readonly detail: string
  readonly pointer?: string
  readonly parameter?: string
}

export interface ProblemOptions {
  readonly errors?: readonly ProblemError[]
  readonly headers?: Readonly<Record<string, string>>
  /** Extension members (RFC 9457 §3.2), e.g. `wait_seconds`. */
  readonly extensions?: Readonly<Record<string, string | number | boolean>>
  /** Log-only detail: never sent. */
  readonly logDetail?: string
  readonly cause?: unknown
}

/** A problem to answer with; `detail` is shown to the caller, so it never holds a secret. */
export class Problem extends Error {
  readonly errors: readonly ProblemError[] | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly extensions: Readonly<Record<string, string | number | boolean>>
  readonly logDetail: string | undefined

  constructor(
    readonly status: number,
    readonly kind: ProblemKind,
    readonly detail: string,
    options: ProblemOptions = {},
  ) {
    super(`${kind}: ${detail}`, { cause: options.cause })
    this.name = 'Problem'
    this.errors = options.errors
    this.headers = options.headers ?? {}
    this.extensions = options.extensions ?? {}
    this.logDetail = options.logDetail
  }
}

export interface ProblemBody {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly errors?: readonly ProblemError[]
  readonly [extension: string]: unknown
}

/** A Bearer or DPoP challenge (RFC 6750 §3, RFC 9449 §7.1); quotes and backslashes cannot break out of it. */
export function challenge(
  scheme: 'Bearer' | 'DPoP',
  params: { readonly error?: string; readonly description?: string; readonly scope?: string },
): string {
  const quoted = (value: string) => `"${value.replace(/["\\]/g, '')}"`
  const parts = ['realm="tessera"']
  if (params.error !== undefined) parts.push(`error=${quoted(params.error)}`)
  if (params.description !== undefined) parts.push(`error_description=${quoted(params.description)}`)
  if (params.scope !== undefined) parts.push(`scope=${quoted(params.scope)}`)
  if (scheme === 'DPoP') parts.push(`algs="${DPOP_ALGORITHMS.join(' ')}"`)
  return `${scheme} ${parts.join(', ')}`
}

/** An OAuth error thrown while checking the access token (or anywhere in the API) as a problem. */
function fromOAuthError(error: OAuthError): Problem {
  const headers: Record<string, string> = {}
  if (error.dpopNonce !== undefined) headers['dpop-nonce'] = error.dpopNonce
  if (error.status === 401) {
    // RFC 6750 §3.1: no credentials at all: the challenges alone, both schemes (RFC 9449 §7.1).
    headers['www-authenticate'] = error.unauthenticated
      ? `${challenge('Bearer', {})}, ${challenge('DPoP', {})}`
      : challenge(error.challenge, { error: error.error, description: error.description })
    return new Problem(401, 'invalid-token', error.description, { headers, logDetail: error.detail, cause: error })
  }
  if (error.error === 'insufficient_scope') {
    headers['www-authenticate'] = challenge(error.challenge, { error: error.error, description: error.description })
    return new Problem(403, 'insufficient-scope', error.description, { headers, logDetail: error.detail, cause: error })
  }
  if (error.status >= 500) return new Problem(error.status, 'server-error', 'The server could not complete the request.', { cause: error })
  return new Problem(error.status, 'invalid-request', error.description, { headers, logDetail: error.detail, cause: error })
}

/** Where a schema error points: a JSON pointer into the body, or the parameter's name. */
function validationErrors(error: FastifyError): ProblemError[] {
  const part = (error as { validationContext?: string }).validationContext ?? 'body'
  return (error.validation ?? []).slice(0, 20).map((item) => {
    const path = item.instancePath ?? ''
    const missing = (item.params as { missingProperty?: unknown } | undefined)?.missingProperty
    const at = typeof missing === 'string' && !path.endsWith(`/${missing}`) ? `${path}/${missing}` : path
    const detail = item.message ?? 'is not valid'
    if (part === 'body') return { pointer: `#${at}`, detail }
    const name = at.split('/')[1] ?? ''
    return { parameter: name === '' ? part : decodeURIComponent(name.replace(/~1/g, '/').replace(/~0/g, '~')), detail }
  })
}

/** Classifies any thrown value; `expected` problems are the caller's (logged at info), the rest are ours. */
export function describeProblem(error: unknown): { problem: Problem; expected: boolean } {
  if (error instanceof Problem) return { problem: error, expected: error.status < 500 }
  if (error instanceof OAuthError) {
    const problem = fromOAuthError(error)
    return { problem, expected: problem.status < 500 }
  }
  const fastifyError = error as Partial<FastifyError>
  if (fastifyError.validation !== undefined) {
    const errors = validationErrors(error as FastifyError)
    return { problem: new Problem(400, 'validation-error', 'Some members of the request are not valid.', { errors }), expected: true }
  }
  // The rest as the other surfaces see them: rate limits, Fastify's own 4xx (a body that is not
  // JSON, too large, of an unsupported type), an unavailable database, and the fixed 500.
  const { view, headers, expected } = describeError(error)
  if (view.status === 429) return { problem: new Problem(429, 'rate-limited', view.description, { headers }), expected }
  if (view.status === 503) return { problem: new Problem(503, 'unavailable', view.description, { headers }), expected }
  if (view.status >= 500) return { problem: new Problem(500, 'server-error', 'The server could not complete the request.'), expected }
  const detail = fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'send the body as application/json' : 'the request is malformed'
  return { problem: new Problem(view.status, 'invalid-request', detail, { headers }), expected }
}

export function problemBody(problem: Problem): ProblemBody {
  return {
    ...problem.extensions,
    type: problemType(problem.kind),
    title: TITLES[problem.kind],
    status: problem.status,
    detail: problem.detail,
    ...(problem.errors !== undefined ? { errors: problem.errors } : {}),
  }
}

/** Logs and sends any error as problem details (the admin API scope's error and not-found handlers). */
export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { problem, expected } = describeProblem(error)
  if (expected)
    request.log.info(
      { refused: { name: (error as Error).name, message: (error as Error).message, detail: problem.logDetail } },
      'request refused',
    )
  else if (problem.status === 503) logUnavailable(error, request)
  else request.log.error({ err: error }, 'unexpected error')
  return reply
    .status(problem.status)
    .headers({ 'cache-control': 'no-store', ...problem.headers })
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem))
}
