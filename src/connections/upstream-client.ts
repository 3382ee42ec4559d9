/**
 * The upstream side of a connection, through openid-client: discovery (OpenID providers), the
 * authorization URL with PKCE, `state` and `nonce`, and the code exchange with every check the
 * library makes (state, RFC 9207 `iss` when the upstream supports it, the ID token's signature,
 * issuer, audience, nonce and expiry), then the user's profile.
 */
import * as client from 'openid-client'
import type { Connection, ConnectionType, UpstreamEndpoints } from '../model/connection.js'
import { openEnvelope } from '../keys/envelope.js'
import { ConnectionProblem } from '../oauth/upstream.js'

/** An upstream slower than this is treated as down (the user is waiting). */
const UPSTREAM_TIMEOUT_SECONDS = 10

const sealedSecretContext = (connectionId: string) => `connection:${connectionId}:client_secret`

/** Associated data binding a sealed client secret to its connection. */
export const clientSecretAssociatedData = sealedSecretContext

const isHttp = (url: string) => url.startsWith('http:')

function configure(configuration: client.Configuration, endpoints: UpstreamEndpoints): client.Configuration {
  configuration.timeout = UPSTREAM_TIMEOUT_SECONDS
  // Only reachable for loopback upstreams under a loopback issuer (oauth/upstream.ts upstreamUrl).
  if (isHttp(endpoints.issuer) || isHttp(endpoints.token_endpoint)) client.allowInsecureRequests(configuration)
  return configuration
}

/** Client authentication at the upstream: none for a public client; HTTP Basic when offered (the RFC 6749 default), else the body. */
function authentication(type: ConnectionType, endpoints: UpstreamEndpoints, secret: string | null): client.ClientAuth {
  if (secret === null) return client.None()
  const offered = endpoints.token_endpoint_auth_methods_supported
  if (type === 'oidc' && (offered === undefined || offered.includes('client_secret_basic'))) return client.ClientSecretBasic(secret)
  return client.ClientSecretPost(secret)
}

/** OIDC discovery at the issuer (`idp connections add`): the endpoints to store. */
export async function discoverEndpoints(issuer: string, clientId: string): Promise<UpstreamEndpoints> {
  let configuration: client.Configuration
  try {
    configuration = await client.discovery(new URL(issuer), clientId, undefined, undefined, {
      timeout: UPSTREAM_TIMEOUT_SECONDS,
      ...(isHttp(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
    })
  } catch (error) {
    throw new ConnectionProblem(`OpenID discovery at ${issuer} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  const metadata = configuration.serverMetadata()
  if (metadata.authorization_endpoint === undefined || metadata.token_endpoint === undefined || metadata.jwks_uri === undefined)
    throw new ConnectionProblem(`the discovery document of ${issuer} lacks an authorization, token or jwks endpoint`)
  return {
    issuer: metadata.issuer,
    authorization_endpoint: metadata.authorization_endpoint,
    token_endpoint: metadata.token_endpoint,
    jwks_uri: metadata.jwks_uri,
    ...(metadata.userinfo_endpoint !== undefined ? { userinfo_endpoint: metadata.userinfo_endpoint } : {}),
    ...(metadata.authorization_response_iss_parameter_supported === true ? { authorization_response_iss_parameter_supported: true } : {}),
    ...(metadata.code_challenge_methods_supported !== undefined
      ? { code_challenge_methods_supported: [...metadata.code_challenge_methods_supported] }
      : {}),
    ...(metadata.token_endpoint_auth_methods_supported !== undefined
      ? { token_endpoint_auth_methods_supported: [...metadata.token_endpoint_auth_methods_supported] }
      : {}),
  }
}

/** Per-process cache: openid-client keeps the upstream's JWKS with its configuration. */
export function upstreamClients(upstreamKey: Buffer) {
  const cache = new Map<string, { readonly createdAt: number; readonly configuration: client.Configuration }>()
  return function configurationFor(connection: Connection): client.Configuration {
    const cached = cache.get(connection.id)
    if (cached?.createdAt === connection.createdAt) return cached.configuration
    const secret =
      connection.sealedClientSecret === null
        ? null
        : openEnvelope(upstreamKey, connection.sealedClientSecret, sealedSecretContext(connection.id)).toString('utf8')
    const configuration = configure(
      new client.Configuration(
        { ...connection.endpoints } as client.ServerMetadata,
        connection.clientId,
        undefined,
        authentication(connection.type, connection.endpoints, secret),
      ),
      connection.endpoints,
    )
    cache.set(connection.id, { createdAt: connection.createdAt, configuration })
    return configuration
  }
}

export type ConfigurationFor = ReturnType<typeof upstreamClients>

export interface AuthorizationStart {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
}

export function newAuthorizationStart(): AuthorizationStart {
  return { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() }
}

export async function authorizationUrl(
  configuration: client.Configuration,
  connection: Connection,
  redirectUri: string,
  start: AuthorizationStart,
  loginHint: string | null,
): Promise<string> {
  const parameters: Record<string, string> = {
    redirect_uri: redirectUri,
    response_type: 'code',
    state: start.state,
    code_challenge: await client.calculatePKCECodeChallenge(start.codeVerifier),
    code_challenge_method: 'S256',
  }
  if (connection.scopes.length > 0) parameters.scope = connection.scopes.join(' ')
  if (connection.type === 'oidc') parameters.nonce = start.nonce
  if (loginHint !== null && connection.type === 'oidc') parameters.login_hint = loginHint
  return client.buildAuthorizationUrl(configuration, parameters).href
}

/** What the upstream answered, checked: claims of the ID token (OIDC) and the user document. */
export interface UpstreamAnswer {
  readonly claims: Record<string, unknown>
  readonly extra: Record<string, unknown>
  /** The upstream's tokens, for connections that keep them. */
  readonly tokens: Record<string, unknown>
}

/** The user refused or the upstream failed before any code was issued (its `error`). */
export class UpstreamRefused extends Error {
  constructor(readonly code: string) {
    super(`the upstream answered ${code}`)
  }
}

export async function exchangeCode(
  configuration: client.Configuration,
  connection: Connection,
  callbackUrl: URL,
  start: AuthorizationStart,
): Promise<UpstreamAnswer> {
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
  try {
    tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: start.codeVerifier,
      expectedState: start.state,
      ...(connection.type === 'oidc' ? { expectedNonce: start.nonce, idTokenExpected: true } : {}),
    })
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError) throw new UpstreamRefused(error.error)
    throw error
  }
  const { access_token: accessToken } = tokens
  if (connection.type === 'oidc') {
    const claims = { ...(tokens.claims() ?? {}) } as Record<string, unknown>
    // Userinfo only for what the ID token left out; its `sub` must match (OIDC Core §5.3.2).
    const needsMore = claims.email === undefined || claims.name === undefined
    const extra =
      needsMore && connection.endpoints.userinfo_endpoint !== undefined
        ? ((await client.fetchUserInfo(configuration, accessToken, String(claims.sub))) as Record<string, unknown>)
        : {}
    return { claims, extra, tokens: { ...tokens } }
  }
  const userEndpoint = connection.endpoints.userinfo_endpoint
  if (userEndpoint === undefined) throw new Error('the connection has no user endpoint')
  const response = await client.fetchProtectedResource(
    configuration,
    accessToken,
    new URL(userEndpoint),
    'GET',
    undefined,
    new Headers({ accept: 'application/json' }),
  )
  if (!response.ok) throw new Error(`the user endpoint answered ${response.status}`)
  const document = (await response.json()) as unknown
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new Error('the user endpoint did not answer a JSON object')
  return { claims: document as Record<string, unknown>, extra: {}, tokens: { ...tokens } }
}
