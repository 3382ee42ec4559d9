/**
 * Client metadata (RFC 7591 §2) as pure rules, for clients that describe themselves: dynamic
 * registration and client ID metadata documents. What Tessera does not support is refused when
 * accepting it would change security (a signing or encryption algorithm, sender-constrained
 * tokens, front-channel logout, default ACRs); metadata it does not know is ignored (RFC 7591 §2).
 */
import type { JSONWebKeySet } from 'jose'
import { OAuthError } from '../errors/oauth-error.js'
import { GRANT_TYPES, TOKEN_EXCHANGE_GRANT, type GrantType, type TokenEndpointAuthMethod } from '../model/client.js'
import { CLIENT_ASSERTION_ALGORITHMS } from './client-auth.js'
import { registrationProblem } from './redirect-uri.js'
import { isScopeToken } from './scope.js'
import { checkWebUrl } from './web-url.js'
import { backchannelLogoutUriProblem } from './backchannel-logout.js'

export type SelfDescribedClientKind = 'dynamic' | 'metadata_document'

export interface ClientMetadata {
  readonly name: string
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly grantTypes: readonly GrantType[]
  readonly authMethod: TokenEndpointAuthMethod
  readonly scopes: readonly string[]
  /** private_key_jwt: where the client's public keys are (exactly one of the two). */
  readonly jwksUri: string | null
  readonly jwks: JSONWebKeySet | null
  /** Informational members, stored and echoed back (RFC 7591 §3.2.1). */
  readonly display: Readonly<Record<string, string | readonly string[]>>
  /** RFC 9449 §5.2: every token request must carry a DPoP proof. */
  readonly dpopBoundAccessTokens: boolean
  /** RFC 9126 §6: authorization requests only through /par. */
  readonly requirePushedAuthorizationRequests: boolean
  /** OpenID Connect Back-Channel Logout 1.0 §2.2; null: none. */
  readonly backchannelLogoutUri: string | null
  readonly backchannelLogoutSessionRequired: boolean
}

/** What the metadata is judged against besides itself. */
export interface ClientMetadataContext {
  /** Tessera's issuer: loopback (and http) back-channel logout URIs only while it is on localhost. */
  readonly issuer: string
}

/** Without a context nothing local is assumed. */
const NO_CONTEXT: ClientMetadataContext = { issuer: 'https://issuer.invalid' }

const METHODS: Record<SelfDescribedClientKind, readonly TokenEndpointAuthMethod[]> = {
  dynamic: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'],
  // draft-ietf-oauth-client-id-metadata-document §4.1: no shared secrets for a URL anyone can read.
  metadata_document: ['none', 'private_key_jwt'],
}

/** Members whose presence asks for something Tessera does not do; accepting them silently would weaken the client's expectations. */
const UNSUPPORTED: Record<string, string> = {
  id_token_encrypted_response_alg: 'ID token encryption is not supported',
  id_token_encrypted_response_enc: 'ID token encryption is not supported',
  userinfo_signed_response_alg: 'signed userinfo responses are not supported',
  userinfo_encrypted_response_alg: 'encrypted userinfo responses are not supported',
  userinfo_encrypted_response_enc: 'encrypted userinfo responses are not supported',
  request_object_signing_alg: 'request objects are not supported',
  request_object_encryption_alg: 'request objects are not supported',
  request_object_encryption_enc: 'request objects are not supported',
  request_uris: 'request objects are not supported',
  sector_identifier_uri: 'pairwise subjects are not supported',
  default_max_age: 'default_max_age is not supported; send max_age with each request',
  default_acr_values: 'default_acr_values is not supported; send acr_values with each request',
  frontchannel_logout_uri: 'front-channel logout is not supported',
  authorization_signed_response_alg: 'JWT-secured authorization responses are not supported',
  introspection_signed_response_alg: 'signed introspection responses are not supported',
  authorization_encrypted_response_alg: 'JWT-secured authorization responses are not supported',
  authorization_encrypted_response_enc: 'JWT-secured authorization responses are not supported',
  introspection_encrypted_response_alg: 'encrypted introspection responses are not supported',
  introspection_encrypted_response_enc: 'encrypted introspection responses are not supported',
  // RFC 7591 §2.3: a software statement asserts metadata on a publisher's authority. Tessera
  // trusts no publisher's key, so it cannot honour one; ignoring it would let the client believe
  // its statement's values were applied.
  software_statement: 'software statements are not supported; send the metadata as plain members',
  client_secret: 'a client cannot choose its own secret',
}

/** Boolean members that may be false but not true. */
const UNSUPPORTED_IF_TRUE: Record<string, string> = {
  tls_client_certificate_bound_access_tokens: 'mTLS-bound access tokens are not supported',
  require_signed_request_object: 'request objects are not supported',
}

const INFORMATIONAL_URIS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const
const INFORMATIONAL_TEXT = ['software_id', 'software_version'] as const

const invalid = (description: string) => new OAuthError('invalid_client_metadata', description)

function optionalString(metadata: Record<string, unknown>, member: string, maxLength = 2000): string | undefined {
  const value = metadata[member]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value.length > maxLength) throw invalid(`${member} must be a string of at most ${maxLength} characters`)
  return value
}

function optionalStrings(metadata: Record<string, unknown>, member: string, maxItems = 20): string[] | undefined {
  const value = metadata[member]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.length > maxItems || value.some((item) => typeof item !== 'string'))
    throw invalid(`${member} must be an array of at most ${maxItems} strings`)
  return value as string[]
}

function optionalBoolean(metadata: Record<string, unknown>, member: string): boolean {
  const value = metadata[member]
  if (value === undefined || value === null) return false
  if (typeof value !== 'boolean') throw invalid(`${member} must be true or false`)
  return value
}

function webUrl(member: string, value: string): string {
  const { problem } = checkWebUrl(value)
  if (problem === 'not_absolute') throw invalid(`${member} must be an absolute URL`)
  if (problem !== null) throw invalid(`${member} must be an https URL`)
  return value
}

function redirectUris(member: string, uris: readonly string[]): string[] {
  for (const uri of uris) {
    const problem = registrationProblem(uri)
    if (problem !== null) throw new OAuthError('invalid_redirect_uri', `${member}: ${uri} ${problem.text}`)
  }
  return [...new Set(uris)]
}

function publicJwks(value: unknown): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (typeof value !== 'object' || value === null || !Array.isArray(keys) || keys.length === 0 || keys.length > 10)
    throw invalid('jwks must be a JWK Set with 1 to 10 keys')
  for (const key of keys as Record<string, unknown>[]) {
    if (typeof key !== 'object' || key === null || typeof key['kty'] !== 'string') throw invalid('jwks: every key needs a kty')
    // A private key published in metadata is compromised by definition.
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key)) throw invalid('jwks must contain public keys only')
  }
  return value as JSONWebKeySet
}

/**
 * Validates self-described client metadata. `kind` decides the allowed authentication methods and
 * the default (RFC 7591: client_secret_basic; a metadata document: none).
 */
export function parseClientMetadata(
  input: unknown,
  kind: SelfDescribedClientKind,
  context: ClientMetadataContext = NO_CONTEXT,
): ClientMetadata {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('the metadata must be a JSON object')
  const metadata = input as Record<string, unknown>
  for (const [member, reason] of Object.entries(UNSUPPORTED))
    if (metadata[member] !== undefined && metadata[member] !== null) throw invalid(`${member}: ${reason}`)
  for (const [member, reason] of Object.entries(UNSUPPORTED_IF_TRUE)) if (metadata[member] === true) throw invalid(`${member}: ${reason}`)
  const idTokenAlg = optionalString(metadata, 'id_token_signed_response_alg', 20)
  if (idTokenAlg !== undefined && idTokenAlg !== 'RS256')
    throw invalid('id_token_signed_response_alg: ID tokens are signed with RS256 only')
  // OpenID Connect Registration §2: ID tokens always carry auth_time (oauth/claims.ts), so either value is honoured.
  optionalBoolean(metadata, 'require_auth_time')
  const subjectType = optionalString(metadata, 'subject_type', 20)
  if (subjectType !== undefined && subjectType !== 'public') throw invalid('subject_type: only public subjects are supported')

  const responseTypes = optionalStrings(metadata, 'response_types') ?? ['code']
  if (responseTypes.some((type) => type !== 'code')) throw invalid('response_types: only "code" is supported')
  const grantTypes = [...new Set(optionalStrings(metadata, 'grant_types') ?? ['authorization_code'])]
  for (const grantType of grantTypes)
    if (!(GRANT_TYPES as readonly string[]).includes(grantType))
      throw invalid(`grant_types: ${grantType} is not supported (${GRANT_TYPES.join(', ')})`)
  if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code'))
    throw invalid('grant_types: refresh_token needs authorization_code')
  // Token exchange needs a per-API permission only an operator gives (`idp clients add --api`).
  if (grantTypes.includes(TOKEN_EXCHANGE_GRANT)) throw invalid(`grant_types: ${TOKEN_EXCHANGE_GRANT} is for operator-registered clients`)
  // A self-described client gets tokens for an API only with a user's consent; client_credentials
  // has no user, so anyone able to register would mint tokens for every open API. (The token
  // endpoint refuses it too: oauth/grants/client-credentials.ts.)
  if (grantTypes.includes('client_credentials'))
    throw invalid('grant_types: client_credentials is for clients registered by an operator (idp clients add)')

  const authMethod = (optionalString(metadata, 'token_endpoint_auth_method', 40) ??
    (kind === 'dynamic' ? 'client_secret_basic' : 'none')) as TokenEndpointAuthMethod
  if (!METHODS[kind].includes(authMethod)) throw invalid(`token_endpoint_auth_method must be one of ${METHODS[kind].join(', ')}`)
  const signingAlg = optionalString(metadata, 'token_endpoint_auth_signing_alg', 20)
  if (signingAlg !== undefined && !(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(signingAlg))
    throw invalid(`token_endpoint_auth_signing_alg must be one of ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`)

  let jwksUri: string | null = null
  let jwks: JSONWebKeySet | null = null
  if (authMethod === 'private_key_jwt') {
    const uri = optionalString(metadata, 'jwks_uri')
    const set = metadata['jwks']
    if ((uri === undefined) === (set === undefined || set === null)) throw invalid('private_key_jwt needs exactly one of jwks_uri and jwks')
    if (uri !== undefined) jwksUri = webUrl('jwks_uri', uri)
    else jwks = publicJwks(set)
  }

  const redirects = redirectUris('redirect_uris', optionalStrings(metadata, 'redirect_uris') ?? [])
  if (grantTypes.includes('authorization_code') && redirects.length === 0)
    throw new OAuthError('invalid_redirect_uri', 'redirect_uris: the authorization_code grant needs at least one')
  const postLogout = redirectUris('post_logout_redirect_uris', optionalStrings(metadata, 'post_logout_redirect_uris') ?? [])

  const scope = optionalString(metadata, 'scope') ?? ''
  const scopes = scope.split(' ').filter((token) => token !== '')
  for (const token of scopes) if (!isScopeToken(token)) throw invalid(`scope: "${token}" is not a valid scope`)

  const display: Record<string, string | readonly string[]> = {}
  for (const member of INFORMATIONAL_URIS) {
    const value = optionalString(metadata, member)
    if (value !== undefined) display[member] = webUrl(member, value)
  }
  for (const member of INFORMATIONAL_TEXT) {
    const value = optionalString(metadata, member, 200)
    if (value !== undefined) display[member] = value
  }
  const contacts = optionalStrings(metadata, 'contacts')
  if (contacts !== undefined) display['contacts'] = contacts.map((contact) => contact.slice(0, 200))

  const logoutUri = optionalString(metadata, 'backchannel_logout_uri') ?? null
  if (logoutUri !== null) {
    const problem = backchannelLogoutUriProblem(logoutUri, { issuer: context.issuer, selfDescribed: true })
    if (problem !== null) throw invalid(`backchannel_logout_uri ${problem.text}`)
  }

  const name = (optionalString(metadata, 'client_name', 200) ?? '').trim()
  const fallbackName = redirects[0] !== undefined ? hostOf(redirects[0]) : 'Unnamed application'
  return {
    name: name || fallbackName,
    redirectUris: redirects,
    postLogoutRedirectUris: postLogout,
    grantTypes: grantTypes as GrantType[],
    authMethod,
    scopes,
    jwksUri,
    jwks,
    display,
    dpopBoundAccessTokens: optionalBoolean(metadata, 'dpop_bound_access_tokens'),
    requirePushedAuthorizationRequests: optionalBoolean(metadata, 'require_pushed_authorization_requests'),
    backchannelLogoutUri: logoutUri,
    backchannelLogoutSessionRequired: optionalBoolean(metadata, 'backchannel_logout_session_required'),
  }
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host || 'Unnamed application'
  } catch {
    return 'Unnamed application'
  }
}
