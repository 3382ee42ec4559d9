/**
 * Managing connections (upstream identity providers): the rules every surface applies (the CLI
 * today, the admin API next). An OpenID provider's endpoints come from its discovery document;
 * a plain OAuth 2.0 server's are given with a claim mapping. Client secrets are sealed.
 */
import type { Deps } from '../deps.js'
import { actorLabel, CLI_ACTOR, type Actor } from '../model/actor.js'
import { sealEnvelope } from '../keys/envelope.js'
import type { Connection, ConnectionType, UpstreamEndpoints } from '../model/connection.js'
import { claimMapping, connectionId, ConnectionProblem, defaultScopes, emailDomain, upstreamUrl } from '../oauth/upstream.js'
import { isScopeToken } from '../oauth/scope.js'
import { clientSecretAssociatedData, discoverEndpoints } from './upstream-client.js'

export { ConnectionProblem }

export interface NewConnection {
  readonly name: string
  readonly type: ConnectionType
  readonly issuer?: string | undefined
  readonly clientId: string
  readonly clientSecret: string | null
  readonly scopes: readonly string[]
  readonly domains: readonly string[]
  readonly trustEmail: boolean
  readonly storeTokens: boolean
  /** oauth2 only. */
  readonly authorizationEndpoint?: string | undefined
  readonly tokenEndpoint?: string | undefined
  readonly userEndpoint?: string | undefined
  /** oauth2 only: `claim=field` pairs. */
  readonly claimMappings?: readonly string[]
}

type RegistryDeps = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit' | 'upstreamKey'>

/** The redirect URI to register at the upstream for this connection. */
export const callbackUrl = (issuer: string, id: string): string => `${issuer}/login/connections/${encodeURIComponent(id)}/callback`

async function endpointsFor(deps: RegistryDeps, input: NewConnection): Promise<UpstreamEndpoints> {
  const own = deps.config.issuer
  if (input.type === 'oidc') {
    if (input.issuer === undefined || input.issuer === '')
      throw new ConnectionProblem('--issuer is required for an OpenID Connect connection')
    if (input.authorizationEndpoint !== undefined || input.tokenEndpoint !== undefined || input.userEndpoint !== undefined)
      throw new ConnectionProblem('endpoints are discovered from --issuer for OpenID Connect; give them only with --type oauth2')
    upstreamUrl(input.issuer, '--issuer', own)
    const endpoints = await discoverEndpoints(input.issuer, input.clientId)
    // Every endpoint the discovery named must obey the same rule as the issuer.
    for (const [label, url] of Object.entries(endpoints))
      if (typeof url === 'string' && label.endsWith('endpoint')) upstreamUrl(url, `the discovered ${label}`, own)
    return endpoints
  }
  const authorization = upstreamUrl(input.authorizationEndpoint ?? '', '--authorization-endpoint', own)
  const token = upstreamUrl(input.tokenEndpoint ?? '', '--token-endpoint', own)
  const user = upstreamUrl(input.userEndpoint ?? '', '--user-endpoint', own)
  const issuer =
    input.issuer === undefined || input.issuer === '' ? new URL(authorization).origin : upstreamUrl(input.issuer, '--issuer', own)
  return { issuer, authorization_endpoint: authorization, token_endpoint: token, userinfo_endpoint: user }
}

export async function addConnection(deps: RegistryDeps, input: NewConnection): Promise<Connection> {
  const name = input.name.trim()
  if (name === '' || name.length > 100) throw new ConnectionProblem('--name is required (at most 100 characters)')
  const id = connectionId(name)
  if (input.clientId.trim() === '' || input.clientId.length > 400) throw new ConnectionProblem('--client-id is required')
  if (input.type === 'oauth2' && input.clientSecret === null)
    throw new ConnectionProblem('an oauth2 connection needs a client secret (--client-secret-stdin)')
  const scopes = input.scopes.length > 0 ? [...new Set(input.scopes)] : [...defaultScopes(input.type)]
  for (const scope of scopes) if (!isScopeToken(scope)) throw new ConnectionProblem(`--scope ${scope} is not a valid scope`)
  if (input.type === 'oidc' && !scopes.includes('openid'))
    throw new ConnectionProblem('an OpenID Connect connection must ask for the openid scope')
  if (input.type === 'oidc' && (input.claimMappings ?? []).length > 0)
    throw new ConnectionProblem('--map-claim is for --type oauth2; OpenID providers use the standard claims')
  const domains = [...new Set(input.domains.map(emailDomain))]
  const existing = await deps.repos.connections.list()
  if (existing.some((connection) => connection.id === id)) throw new ConnectionProblem(`a connection with the id ${id} already exists`)
  for (const domain of domains) {
    const owner = existing.find((connection) => connection.domains.includes(domain))
    if (owner) throw new ConnectionProblem(`--domain ${domain} already belongs to the connection ${owner.id}`)
  }
  const mapping = input.type === 'oauth2' ? claimMapping(input.claimMappings ?? []) : {}
  const endpoints = await endpointsFor(deps, input)
  const now = deps.clock.now()
  const connection: Connection = {
    id,
    name,
    type: input.type,
    issuer: endpoints.issuer,
    clientId: input.clientId.trim(),
    sealedClientSecret:
      input.clientSecret === null
        ? null
        : sealEnvelope(deps.upstreamKey, Buffer.from(input.clientSecret, 'utf8'), clientSecretAssociatedData(id)),
    scopes,
    domains,
    trustEmail: input.trustEmail,
    storeTokens: input.storeTokens,
    endpoints,
    claimMapping: mapping,
    disabledAt: null,
    createdAt: now,
  }
  if (!(await deps.repos.connections.insert(connection))) throw new ConnectionProblem(`a connection with the id ${id} already exists`)
  await deps.audit.record(
    'connection_added',
    { detail: { connection: id, issuer: endpoints.issuer, type: input.type } },
    'connection added',
  )
  return connection
}

/** No connection has this id or name. */
export class UnknownConnection extends ConnectionProblem {
  readonly code = 'unknown_connection'
  constructor(readonly reference: string) {
    super(`no connection ${reference} (see idp connections list)`)
  }
}

async function existing(deps: RegistryDeps, idOrName: string): Promise<Connection> {
  const connections = await deps.repos.connections.list()
  const found = connections.find((connection) => connection.id === idOrName || connection.name === idOrName)
  if (!found) throw new UnknownConnection(idOrName)
  return found
}

/** Deletes a connection with its linked identities (accounts made through it stay); audited with the actor. */
export async function removeConnection(deps: RegistryDeps, idOrName: string, actor: Actor = CLI_ACTOR): Promise<Connection> {
  const connection = await existing(deps, idOrName)
  await deps.repos.connections.remove(connection.id)
  await deps.audit.record(
    'connection_removed',
    { detail: { connection: connection.id, actor: actorLabel(actor) } },
    'connection removed with its linked identities',
  )
  return connection
}

/** Turns a connection off (hidden from the login page, sign-ins refused) or on again; audited with the actor. */
export async function setConnectionEnabled(
  deps: RegistryDeps,
  idOrName: string,
  enabled: boolean,
  actor: Actor = CLI_ACTOR,
): Promise<Connection> {
  const connection = await existing(deps, idOrName)
  const disabledAt = enabled ? null : deps.clock.now()
  await deps.repos.connections.setDisabled(connection.id, disabledAt)
  await deps.audit.record(
    enabled ? 'connection_enabled' : 'connection_disabled',
    { detail: { connection: connection.id, actor: actorLabel(actor) } },
    enabled ? 'connection enabled' : 'connection disabled',
  )
  return { ...connection, disabledAt }
}
