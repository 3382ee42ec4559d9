/**
 * Validation of an authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1, docs/security.md §A/B),
 * in two phases: first the client and redirect_uri (failures there are shown, never redirected),
 * then everything else (failures are redirected to the now-trusted redirect_uri).
 */
import { OAuthError, UnsafeAuthorizeError } from '../errors/oauth-error.js'
import { findDuplicate, rejectDuplicates, single, type RawParams } from './params.js'
import { checkCodeChallenge } from './pkce.js'
import { matchesRegisteredUri } from './redirect-uri.js'
import { formatScope, parseScope } from './scope.js'
import { apiScopeNames, clientApiScopes } from './resource.js'
import type { Api } from '../model/api.js'
import { isPublicClient, type Client } from '../model/client.js'
import type { AuthorizationRequest, Prompt } from '../model/authorization-request.js'

/** Where errors may be sent once phase one has passed. */
export interface RedirectTarget {
  readonly redirectUri: string
  readonly state: string | null
}

/** Phase one: known client, registered redirect_uri. Throws UnsafeAuthorizeError otherwise. */
export function identifyClient(
  params: RawParams,
  findClient: (id: string) => Client | undefined,
): { client: Client; target: RedirectTarget } {
  const duplicate = findDuplicate(params, ['client_id', 'redirect_uri'])
  if (duplicate !== undefined) throw new UnsafeAuthorizeError('invalid_request', `parameter ${duplicate} is repeated`)
  const clientId = single(params, 'client_id')
  if (clientId === undefined) throw new UnsafeAuthorizeError('invalid_request', 'client_id is missing')
  const client = findClient(clientId)
  if (!client) throw new UnsafeAuthorizeError('invalid_client', 'unknown client')
  const redirectUri = single(params, 'redirect_uri')
  if (redirectUri === undefined) throw new UnsafeAuthorizeError('invalid_request', 'redirect_uri is missing')
  if (!matchesRegisteredUri(client.redirectUris, redirectUri, { nativeLoopback: isPublicClient(client) }))
    throw new UnsafeAuthorizeError('invalid_request', 'redirect_uri is not registered for this client')
  const state = typeof params['state'] === 'string' && params['state'] !== '' ? params['state'] : null
  return { client, target: { redirectUri, state } }
}

const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent', 'select_account']

/** Phase two: everything else. Throws OAuthError, which the caller redirects to `target`. */
const MAX_PARAMETERS = 64
const MAX_VALUE_LENGTH = 8192

/**
 * `apis`: the APIs the request's `resource` parameters name, already resolved and checked
 * against what the client may use (oauth/resource.ts); their scopes the client may have
 * (clientApiScopes) may be asked for.
 */
export function validateAuthorizationRequest(
  params: RawParams,
  client: Client,
  target: RedirectTarget,
  apis: readonly Api[] = [],
): AuthorizationRequest {
  rejectDuplicates(params)
  const values = Object.values(params) as (string | undefined)[]
  if (values.length > MAX_PARAMETERS || values.some((value) => (value?.length ?? 0) > MAX_VALUE_LENGTH)) {
    throw new OAuthError('invalid_request', 'the request is too large')
  }
  // Empty parameters count as absent (RFC 6749 §3.1).
  if (single(params, 'request') !== undefined) throw new OAuthError('request_not_supported', 'request objects are not supported')
  if (single(params, 'request_uri') !== undefined) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported')

  const responseType = single(params, 'response_type')
  if (responseType === undefined) throw new OAuthError('invalid_request', 'response_type is missing')
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'only response_type=code is supported')
  if (!client.grantTypes.includes('authorization_code'))
    throw new OAuthError('unauthorized_client', 'client may not use the authorization code grant')
  const responseMode = single(params, 'response_mode')
  if (responseMode !== undefined && responseMode !== 'query')
    throw new OAuthError('invalid_request', 'only response_mode=query is supported')

  const prompt = (single(params, 'prompt') ?? '').split(' ').filter((p) => p !== '') as Prompt[]
  if (prompt.some((p) => !PROMPTS.includes(p))) throw new OAuthError('invalid_request', 'unknown prompt value')
  if (prompt.includes('none') && prompt.length > 1)
    throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other values')

  const scopes = parseScope(single(params, 'scope'))
  // OpenID requests name openid; a plain OAuth request for an API (RFC 8707, as MCP clients make)
  // need not, and then gets no ID token.
  if (!scopes.includes('openid') && apis.length === 0) throw new OAuthError('invalid_scope', 'scope must include openid')
  // Of each API, the scopes this client may have (all of them unless its registration names some).
  const apiScopes = new Set(apis.flatMap((api) => clientApiScopes(client.scopes, apiScopeNames(api))))
  // Scopes the client is not registered for, or that we do not know, are ignored (OIDC Core §3.1.2.1).
  const granted = scopes
    .filter((scope) => client.scopes.includes(scope) || apiScopes.has(scope))
    // OIDC Core §11: a third-party client gets offline_access only when consent is prompted for.
    .filter((scope) => scope !== 'offline_access' || client.firstParty || prompt.includes('consent'))

  const maxAgeRaw = single(params, 'max_age')
  if (maxAgeRaw !== undefined && !/^\d{1,10}$/.test(maxAgeRaw))
    throw new OAuthError('invalid_request', 'max_age must be a non-negative integer')

  const codeChallenge = checkCodeChallenge(
    single(params, 'code_challenge'),
    single(params, 'code_challenge_method'),
    client.pkceRequired || client.secretHash === null,
  )

  const nonce = single(params, 'nonce') ?? null
  if (nonce !== null && nonce.length > 512) throw new OAuthError('invalid_request', 'nonce is too long')
  const loginHint = single(params, 'login_hint') ?? null
  const acrValues = (single(params, 'acr_values') ?? '').split(' ').filter((value) => value !== '')
  const essentialAcr = essentialAcrOf(single(params, 'claims'))
  // RFC 9449 §10: a JWK SHA-256 thumbprint (RFC 7638), base64url.
  const dpopJkt = single(params, 'dpop_jkt') ?? null
  if (dpopJkt !== null && !/^[A-Za-z0-9_-]{43}$/.test(dpopJkt))
    throw new OAuthError('invalid_request', 'dpop_jkt must be a base64url SHA-256 JWK thumbprint')

  return {
    clientId: client.id,
    redirectUri: target.redirectUri,
    scope: formatScope(granted),
    state: target.state,
    nonce,
    codeChallenge,
    prompt,
    maxAge: maxAgeRaw === undefined ? null : Number(maxAgeRaw),
    loginHint: loginHint !== null && loginHint.length <= 320 ? loginHint : null,
    idTokenHint: single(params, 'id_token_hint') ?? null,
    acrValues,
    essentialAcr,
    resources: apis.map((api) => api.identifier),
    dpopJkt,
    // Core §3.1.2.1: a preference, never an error; kept short (pages read the first supported tag).
    uiLocales: (single(params, 'ui_locales') ?? '').slice(0, 200) || null,
  }
}

/**
 * The claims parameter (OIDC Core §5.5) is honoured for one claim, an essential `acr` in the ID
 * token or userinfo request (§5.5.1.1); other requested claims are voluntary and come by scope.
 */
function essentialAcrOf(raw: string | undefined): readonly string[] | null {
  if (raw === undefined) return null
  let claims: unknown
  try {
    claims = JSON.parse(raw)
  } catch {
    throw new OAuthError('invalid_request', 'claims is not a JSON object')
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new OAuthError('invalid_request', 'claims is not a JSON object')
  for (const member of ['id_token', 'userinfo']) {
    const acr = ((claims as Record<string, unknown>)[member] as Record<string, unknown> | undefined)?.['acr'] as
      { essential?: unknown; value?: unknown; values?: unknown } | null | undefined
    if (typeof acr !== 'object' || acr === null || acr.essential !== true) continue
    const values =
      typeof acr.value === 'string'
        ? [acr.value]
        : Array.isArray(acr.values)
          ? acr.values.filter((value): value is string => typeof value === 'string')
          : []
    if (values.length > 0) return values
  }
  return null
}

/** Does the request force a fresh login, given the current session's auth_time? */
export function requiresReauthentication(request: AuthorizationRequest, authTime: number, now: number): boolean {
  // select_account: Tessera has no account chooser; the login page lets the user pick the account.
  if (request.prompt.includes('login') || request.prompt.includes('select_account')) return true
  // OIDC Core §3.1.2.1: max_age=0 behaves like prompt=login.
  return request.maxAge !== null && (request.maxAge === 0 || now - authTime > request.maxAge)
}

/** RFC 6749 §4.1.2 plus RFC 9207: the authorization response, with `iss`. */
export function authorizationResponseUrl(target: RedirectTarget, issuer: string, params: Readonly<Record<string, string>>): string {
  const query = new URLSearchParams(params)
  if (target.state !== null) query.set('state', target.state)
  query.set('iss', issuer)
  return appendQuery(target.redirectUri, query)
}

/** Adds parameters after the registered URI's own query, leaving its bytes untouched. */
export function appendQuery(uri: string, query: URLSearchParams): string {
  const separator = uri.includes('?') ? (uri.endsWith('?') || uri.endsWith('&') ? '' : '&') : '?'
  return `${uri}${separator}${query.toString()}`
}

export function errorResponseUrl(target: RedirectTarget, issuer: string, error: OAuthError): string {
  return authorizationResponseUrl(target, issuer, { error: error.error, error_description: error.description })
}
