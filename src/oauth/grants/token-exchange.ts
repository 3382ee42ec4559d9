/**
 * RFC 8693 token exchange, delegation only, as pure rules: which requests are understood, which
 * API the new token is for, who may exchange a user's token, which scopes and how long it lives,
 * and the `act` chain naming the acting client. Impersonation (a token without `act`) is not offered.
 */
import { OAuthError } from '../../errors/oauth-error.js'
import type { ActorClaim } from '../claims.js'
import { parseResources } from '../resource.js'
import { parseScope } from '../scope.js'
import type { RawParams } from '../params.js'
import { single } from '../params.js'

/** RFC 8693 §3: the one token type Tessera takes and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** Earlier actors kept in `act` beyond which a chain is refused: it only grows, and every API reads it. */
export const MAX_ACTORS = 5

/**
 * RFC 8693 §2.2.2: a subject token that is invalid for any reason, or unacceptable by policy,
 * MUST be answered with invalid_request (not RFC 6749's invalid_grant). One description for every
 * reason, so the answer tells a caller nothing about someone else's token; `detail` is for logs.
 */
export function subjectTokenRefused(detail: string): OAuthError {
  return new OAuthError('invalid_request', 'the subject token is invalid or not acceptable', { detail })
}

export interface ExchangeRequest {
  readonly subjectToken: string
  /** `resource` (RFC 8707) and `audience` (RFC 8693 §2.1) values together, duplicates removed. */
  readonly targets: readonly string[]
  readonly scope: string | undefined
}

/** RFC 8693 §2.1 parameters; anything Tessera does not offer is invalid_request (§2.2.2). */
export function readExchangeRequest(params: RawParams): ExchangeRequest {
  const subjectToken = single(params, 'subject_token')
  if (subjectToken === undefined) throw new OAuthError('invalid_request', 'subject_token is missing')
  const subjectTokenType = single(params, 'subject_token_type')
  if (subjectTokenType === undefined) throw new OAuthError('invalid_request', 'subject_token_type is missing')
  if (subjectTokenType !== ACCESS_TOKEN_TYPE) throw new OAuthError('invalid_request', `subject_token_type must be ${ACCESS_TOKEN_TYPE}`)
  // The authenticated client is the actor: a separate actor token would name someone else.
  if (params['actor_token'] !== undefined || params['actor_token_type'] !== undefined)
    throw new OAuthError('invalid_request', 'actor_token is not supported: the authenticated client is the actor')
  const requested = single(params, 'requested_token_type')
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE)
    throw new OAuthError('invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`)
  const audiences = listOf(params['audience'])
  if (audiences.length > 10) throw new OAuthError('invalid_target', 'too many audiences')
  const targets = [...new Set([...parseResources(params['resource']), ...audiences])]
  return { subjectToken, targets, scope: single(params, 'scope') }
}

const listOf = (raw: string | readonly string[] | undefined): string[] =>
  (raw === undefined ? [] : typeof raw === 'string' ? [raw] : [...raw]).filter((value) => value !== '')

/** One token, one audience: exactly one API must be named (by `resource`, `audience` or both alike). */
export function exchangeTarget(targets: readonly string[]): string {
  if (targets.length === 0) throw new OAuthError('invalid_target', 'name the API with resource or audience')
  if (targets.length > 1) throw new OAuthError('invalid_target', 'one API per token exchange')
  return targets[0]!
}

export interface SubjectToken {
  /** The client the user's token was issued to. */
  readonly clientId: string
  /** Its audience: an API's identifier, or Tessera's own. */
  readonly audience: string
}

/**
 * Who may exchange a user's token: the client it was issued to (a front end handing work to a
 * back end as itself), or a client allowed the API the token is for (`idp clients add --api`):
 * that API's service, which received the token and calls further APIs for the user. Anyone else
 * holding the token is refused, so a leaked token cannot be turned into tokens for other APIs.
 */
export function mayExchange(actorId: string, subject: SubjectToken, actorApis: ReadonlySet<string>): boolean {
  return subject.clientId === actorId || actorApis.has(subject.audience)
}

/**
 * The new token's scope: never wider than the subject token's, and only the target API's
 * (RFC 8693 §2.1 `scope`; RFC 9700 §2.3 least privilege). None asked for: all of that intersection.
 */
export function exchangedScope(subjectScope: string, apiScopes: readonly string[], requested: string | undefined): string {
  const held = new Set(parseScope(subjectScope))
  const available = apiScopes.filter((scope) => held.has(scope))
  const wanted = parseScope(requested)
  if (wanted.length === 0) {
    if (available.length === 0) throw new OAuthError('invalid_scope', 'the subject token has no scope of this API')
    return available.join(' ')
  }
  const refused = wanted.filter((scope) => !available.includes(scope))
  if (refused.length > 0) throw new OAuthError('invalid_scope', `scope wider than the subject token's for this API: ${refused.join(' ')}`)
  return wanted.join(' ')
}

/** Never longer than the API's lifetime, nor than the subject token still has to live. */
export function exchangedTtl(apiTtl: number, subjectExpiresAt: number, now: number): number {
  const remaining = subjectExpiresAt - now
  if (remaining <= 0) throw subjectTokenRefused('expired')
  return Math.min(apiTtl, remaining)
}

/**
 * RFC 8693 §4.1: the acting client is the outermost `act`; whoever acted before (the subject
 * token's own `act`) is nested inside. `previous` is read as untrusted JSON, member by member.
 */
export function delegationChain(actorId: string, previous: unknown): ActorClaim {
  if (previous === undefined) return { sub: actorId }
  const earlier = readActor(previous, 1)
  return { sub: actorId, act: earlier }
}

function readActor(value: unknown, depth: number): ActorClaim {
  if (depth > MAX_ACTORS) throw subjectTokenRefused('too many actors')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw subjectTokenRefused('malformed act claim')
  const { sub, act } = value as Record<string, unknown>
  if (typeof sub !== 'string' || sub === '') throw subjectTokenRefused('malformed act claim')
  return act === undefined ? { sub } : { sub, act: readActor(act, depth + 1) }
}
