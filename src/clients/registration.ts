/**
 * Registering clients: the rules every surface applies (the CLI today, the admin API and dynamic
 * registration next). Validation is pure; `registerClient` stores the result.
 */
import { GRANT_TYPES, isPublicClient, TOKEN_EXCHANGE_GRANT, type Client, type GrantType } from '../model/client.js'
import { REDIRECT_URI_PROBLEMS, registrationProblem, type RedirectUriProblem } from '../oauth/redirect-uri.js'
import { backchannelLogoutUriProblem, type LogoutUriProblem } from '../oauth/backchannel-logout.js'
import { ruleProblem, type ProblemWords, type RuleProblem } from '../oauth/rule-problem.js'
import { isScopeToken, SUPPORTED_SCOPES } from '../oauth/scope.js'
import { checkWebUrl, isLocalIssuer } from '../oauth/web-url.js'
import type { ClientsRepository } from '../db/repositories/clients.js'
import type { ApisRepository } from '../db/repositories/apis.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'

export interface NewClientRequest {
  readonly name: string
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly isPublic: boolean
  readonly grantTypes: readonly string[]
  readonly pkce: string | undefined
  readonly scopes: readonly string[]
  /** Third-party clients show the consent page; first-party ones (the default) do not. */
  readonly thirdParty?: boolean
  /** A resource server for Tessera's own audience: introspects other clients' tokens issued without `resource`. */
  readonly introspect?: boolean
  /** A resource server for these registered APIs: introspects other clients' tokens for them. */
  readonly introspectApis?: readonly string[]
  /** Every sign-in for this client needs a second factor. */
  readonly requireMfa?: boolean
  /** Every token request needs a DPoP proof (RFC 9449). */
  readonly requireDpop?: boolean
  /** Authorization requests only through /par (RFC 9126). */
  readonly requirePar?: boolean
  /** Registered APIs (their identifiers) the client may ask tokens for (RFC 8707 `resource`). */
  readonly apis?: readonly string[]
  /** Where logout tokens are POSTed when a session the client got tokens in ends (Back-Channel Logout 1.0). */
  readonly backchannelLogoutUri?: string
  /** The client wants `sid` in its logout tokens (always sent); needs backchannelLogoutUri. */
  readonly backchannelLogoutSessionRequired?: boolean
  /** What users see of the client on the sign-in and consent pages (RFC 7591 §2 logo_uri, client_uri, policy_uri, tos_uri). */
  readonly logoUri?: string
  readonly clientUri?: string
  readonly policyUri?: string
  readonly tosUri?: string
}

/** The page members (RFC 7591 §2 / OIDC Registration §2), by their name in requests and in client.metadata. */
export const PAGE_LINK_MEMBERS = { logoUri: 'logo_uri', clientUri: 'client_uri', policyUri: 'policy_uri', tosUri: 'tos_uri' } as const
export type PageLinkField = keyof typeof PAGE_LINK_MEMBERS

/**
 * A page link an operator gives, checked: https (plain http only on a loopback host while the
 * issuer is on localhost, for local development); throws InvalidClientMetadata naming the member.
 */
export function checkPageLink(field: PageLinkField, uri: string, context: RegistrationContext): string {
  const local = isLocalIssuer(context.issuer)
  const { url, problem } = checkWebUrl(uri, { loopback: local, loopbackHttp: local })
  if (problem !== null || url === null || uri.length > 2000)
    throw new InvalidClientMetadata(PAGE_LINK_MEMBERS[field], 'page_link_not_https', uri)
  if (url.username !== '' || url.password !== '')
    throw new InvalidClientMetadata(PAGE_LINK_MEMBERS[field], ruleProblem(REDIRECT_URI_PROBLEMS, 'uri_credentials'), uri)
  return uri
}

/** The page links of a request as client.metadata members (only those given). */
function pageLinkMetadata(input: Partial<Record<PageLinkField, string>>, context: RegistrationContext): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const field of Object.keys(PAGE_LINK_MEMBERS) as PageLinkField[]) {
    const value = input[field]
    if (value !== undefined) metadata[PAGE_LINK_MEMBERS[field]] = checkPageLink(field, value, context)
  }
  return metadata
}

/** What a registration is judged against besides the request: Tessera's own issuer. */
export interface RegistrationContext {
  /** Plain http logout URIs (on a loopback host) are accepted only while the issuer is on localhost. */
  readonly issuer: string
}

/** Without a context nothing local is assumed: http logout URIs are refused. */
const NO_CONTEXT: RegistrationContext = { issuer: 'https://issuer.invalid' }

/** Which registration field a problem is about (the CLI names its flag, an API its member). */
export type ClientField =
  | 'name'
  | 'redirect_uris'
  | 'post_logout_redirect_uris'
  | 'grant_types'
  | 'pkce'
  | 'scopes'
  | 'introspect'
  | 'introspect_apis'
  | 'apis'
  | 'backchannel_logout_uri'
  | 'backchannel_logout_session_required'
  | 'logo_uri'
  | 'client_uri'
  | 'policy_uri'
  | 'tos_uri'
  /** How long a rotated-out secret keeps working (clients/lifecycle.ts rotateClientSecret). */
  | 'secret_overlap'

/** Why the client registration rules refuse a value: the English words of each reason (RuleProblem). */
export const CLIENT_METADATA_PROBLEMS = {
  page_link_not_https: 'must be an https URL (at most 2000 characters)',
  name_required: 'is required (at most 200 characters)',
  grant_type_unknown: 'must be one of {grantTypes}',
  grant_types_empty: 'give at least one grant type',
  redirect_uri_needed: 'the authorization_code grant needs at least one',
  public_client_credentials: 'public clients cannot use client_credentials',
  public_token_exchange: 'public clients cannot exchange tokens',
  pkce_value: 'must be required or optional',
  pkce_public_optional: 'cannot be optional for a public client',
  introspect_public: 'needs a confidential client (a resource server authenticates with its secret)',
  scope_invalid: 'invalid scope',
  admin_scope_self_registered: 'admin scopes are only for clients registered by an operator',
  logout_session_without_uri: 'needs a back-channel logout URI',
  api_unknown: 'no such API (register it with idp apis add)',
  secret_overlap_range: 'must be from 0 (the old secret stops at once) to 30 days',
} as const satisfies ProblemWords<string>

/** Every reason a client change is refused for, with the URI rules' reasons. */
export type ClientMetadataReason = keyof typeof CLIENT_METADATA_PROBLEMS | RedirectUriProblem['reason'] | LogoutUriProblem['reason']

/** A registration request that cannot be accepted: `value` is the offending input, when there is one. */
export class InvalidClientMetadata extends Error {
  /** The English words (CLI, admin API); pages translate `reason` with `params`. */
  readonly problem: string
  readonly reason: ClientMetadataReason
  readonly params: Readonly<Record<string, string>>

  constructor(
    readonly field: ClientField,
    problem: RuleProblem<ClientMetadataReason> | keyof typeof CLIENT_METADATA_PROBLEMS,
    readonly value?: string,
  ) {
    const { reason, text, params } = typeof problem === 'string' ? ruleProblem(CLIENT_METADATA_PROBLEMS, problem) : problem
    super(`${field}${value === undefined ? '' : ` ${value}`}: ${text}`)
    this.name = 'InvalidClientMetadata'
    this.problem = text
    this.reason = reason
    this.params = params
  }
}

/** The back-channel logout URI an operator gives (registration or update), checked; throws InvalidClientMetadata. */
export function checkBackchannelLogoutUri(uri: string, context: RegistrationContext): string {
  const problem = backchannelLogoutUriProblem(uri, { issuer: context.issuer, selfDescribed: false })
  if (problem !== null) throw new InvalidClientMetadata('backchannel_logout_uri', problem, uri)
  return uri
}

/** Validates a registration request (docs/security.md §A, §B) and returns the client plus its one-time secret. */
export function buildClient(
  input: NewClientRequest,
  now: number,
  context: RegistrationContext = NO_CONTEXT,
): { client: Client; secret: string | null } {
  const name = input.name.trim()
  if (name === '' || name.length > 200) throw new InvalidClientMetadata('name', 'name_required')
  for (const [field, uris] of [
    ['redirect_uris', input.redirectUris],
    ['post_logout_redirect_uris', input.postLogoutRedirectUris],
  ] as const) {
    for (const uri of uris) {
      const problem = registrationProblem(uri)
      if (problem !== null) throw new InvalidClientMetadata(field, problem, uri)
    }
  }
  const grantTypes = input.grantTypes.length > 0 ? [...new Set(input.grantTypes)] : ['authorization_code', 'refresh_token']
  for (const grantType of grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(grantType))
      throw new InvalidClientMetadata(
        'grant_types',
        ruleProblem(CLIENT_METADATA_PROBLEMS, 'grant_type_unknown', { grantTypes: GRANT_TYPES.join(', ') }),
        grantType,
      )
  }
  if (grantTypes.includes('authorization_code') && input.redirectUris.length === 0)
    throw new InvalidClientMetadata('redirect_uris', 'redirect_uri_needed')
  if (input.isPublic && grantTypes.includes('client_credentials'))
    throw new InvalidClientMetadata('grant_types', 'public_client_credentials', 'client_credentials')
  // Token exchange (RFC 8693 §2.1 leaves client authentication to the deployment): the acting client is the `act` every API sees.
  if (input.isPublic && grantTypes.includes(TOKEN_EXCHANGE_GRANT))
    throw new InvalidClientMetadata('grant_types', 'public_token_exchange', TOKEN_EXCHANGE_GRANT)
  if (input.pkce !== undefined && input.pkce !== 'required' && input.pkce !== 'optional')
    throw new InvalidClientMetadata('pkce', 'pkce_value', input.pkce)
  // docs/security.md §B: PKCE is always required for public clients.
  if (input.isPublic && input.pkce === 'optional') throw new InvalidClientMetadata('pkce', 'pkce_public_optional', 'optional')
  // Introspection needs client authentication (RFC 7662 §2.1): a public client cannot do it.
  if (input.isPublic && input.introspect === true) throw new InvalidClientMetadata('introspect', 'introspect_public')
  if (input.isPublic && (input.introspectApis ?? []).length > 0) throw new InvalidClientMetadata('introspect_apis', 'introspect_public')
  // No scopes asked for: every OpenID scope Tessera knows.
  const scopes = input.scopes.flatMap((scope) => scope.split(' ')).filter((scope) => scope !== '')
  for (const scope of scopes) if (!isScopeToken(scope)) throw new InvalidClientMetadata('scopes', 'scope_invalid', scope)
  const backchannelLogoutUri =
    input.backchannelLogoutUri === undefined ? null : checkBackchannelLogoutUri(input.backchannelLogoutUri, context)
  if (input.backchannelLogoutSessionRequired === true && backchannelLogoutUri === null)
    throw new InvalidClientMetadata('backchannel_logout_session_required', 'logout_session_without_uri')
  const metadata = pageLinkMetadata(input, context)
  const secret = input.isPublic ? null : randomToken()
  return {
    secret,
    client: {
      id: randomId(),
      name,
      secretHash: secret === null ? null : hashSecret(secret),
      previousSecret: null,
      redirectUris: [...new Set(input.redirectUris)],
      postLogoutRedirectUris: [...new Set(input.postLogoutRedirectUris)],
      grantTypes: grantTypes as GrantType[],
      scopes: scopes.length > 0 ? [...new Set(['openid', ...scopes])] : [...SUPPORTED_SCOPES],
      pkceRequired: input.isPublic || input.pkce !== 'optional',
      firstParty: input.thirdParty !== true,
      introspect: input.introspect === true,
      introspectApis: [...new Set(input.introspectApis ?? [])],
      requireMfa: input.requireMfa === true,
      requireDpop: input.requireDpop === true,
      requirePar: input.requirePar === true,
      backchannelLogoutUri,
      backchannelLogoutSessionRequired: input.backchannelLogoutSessionRequired === true,
      registration: 'cli',
      metadata,
      refreshAt: null,
      createdAt: now,
    },
  }
}

/** The page links of a client by member name, null where none is set. */
export function pageLinksOf(client: Pick<Client, 'metadata'>): Record<(typeof PAGE_LINK_MEMBERS)[PageLinkField], string | null> {
  const member = (name: string) => {
    const value = client.metadata[name]
    return typeof value === 'string' && value !== '' ? value : null
  }
  return { logo_uri: member('logo_uri'), client_uri: member('client_uri'), policy_uri: member('policy_uri'), tos_uri: member('tos_uri') }
}

export function describeClient(client: Client): Record<string, unknown> {
  return {
    client_id: client.id,
    name: client.name,
    type: isPublicClient(client) ? 'public' : 'confidential',
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: client.grantTypes,
    scopes: client.scopes,
    pkce: client.pkceRequired ? 'required' : 'optional',
    first_party: client.firstParty,
    introspect: client.introspect,
    introspect_apis: client.introspectApis,
    require_mfa: client.requireMfa,
    require_dpop: client.requireDpop,
    require_par: client.requirePar,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
    registration: client.registration,
    ...pageLinksOf(client),
    created_at: client.createdAt,
  }
}

/** Validates and stores a new client; the secret is returned once and only its hash is kept. */
export async function registerClient(
  repos: { readonly clients: ClientsRepository; readonly apis: ApisRepository },
  input: NewClientRequest,
  now: number,
  context: RegistrationContext = NO_CONTEXT,
): Promise<{ client: Client; secret: string | null }> {
  const registered = buildClient(input, now, context)
  const apis = [...new Set(input.apis ?? [])]
  await requireRegisteredApis(repos, 'apis', apis)
  await requireRegisteredApis(repos, 'introspect_apis', registered.client.introspectApis)
  await repos.clients.insert(registered.client)
  await repos.apis.allow(registered.client.id, apis)
  return registered
}

/** Every identifier names a registered API; throws InvalidClientMetadata naming the first that does not. */
export async function requireRegisteredApis(
  repos: { readonly apis: ApisRepository },
  field: 'apis' | 'introspect_apis',
  identifiers: readonly string[],
): Promise<void> {
  const known = await repos.apis.findMany(identifiers)
  const unknown = identifiers.find((api) => !known.has(api))
  if (unknown !== undefined) throw new InvalidClientMetadata(field, 'api_unknown', unknown)
}
