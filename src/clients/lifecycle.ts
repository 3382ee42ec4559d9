/**
 * The life of a client after registration, whichever surface asks (the `idp clients` commands, the
 * admin API, the admin console): read, change, rotate the secret, delete. Every change is checked
 * by the registration rules (clients/registration.ts, so an update can never store what `add`
 * would refuse) and recorded as a security event naming its actor.
 *
 * Errors: InvalidClientMetadata (a field's value; `field` names it), UnknownClient (no such
 * client_id), ClientChangeRefused (the client's kind does not allow it). Each surface says them
 * its own way: the CLI as one line naming its flag, the API as an RFC 9457 problem.
 */
import type { Deps } from '../deps.js'
import { actorLabel, type Actor } from '../model/actor.js'
import { isPublicClient, usesPrivateKeyJwt, type Client, type ClientRegistration } from '../model/client.js'
import { hashSecret, randomToken } from '../secrets.js'
import {
  buildClient,
  checkBackchannelLogoutUri,
  checkPageLink,
  describeClient,
  InvalidClientMetadata,
  registerClient,
  requireRegisteredApis,
  PAGE_LINK_MEMBERS,
  type NewClientRequest,
  type PageLinkField,
} from './registration.js'

export type ClientLifecycleDeps = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit'>

/** No client has this client_id. */
export class UnknownClient extends Error {
  readonly code = 'unknown_client'
  constructor(readonly clientId: string) {
    super(`no client with id ${clientId}`)
    this.name = 'UnknownClient'
  }
}

/** Why a change cannot apply to this client, and the words the CLI and the admin API give for it (the console translates the reason). */
const CLIENT_REFUSALS = {
  document_settings: 'its metadata document decides its name, URIs, grant types and scopes',
  operator_apis: 'only clients registered by an operator are given APIs; self-registered ones may ask for any API not first-party-only',
  operator_introspection: 'only clients registered by an operator may introspect other clients’ tokens',
  document_links: 'its metadata document decides its logo and links',
  document_secret: 'a metadata-document client has no secret',
  key_authentication: 'it authenticates with its own key (private_key_jwt), not a secret',
  public_secret: 'a public client has no secret',
  secret_changed: 'its secret changed meanwhile (another rotation); try again',
} as const

export type ClientRefusal = keyof typeof CLIENT_REFUSALS

/** The change is valid in itself but not for this client (a public client has no secret to rotate…). */
export class ClientChangeRefused extends Error {
  readonly code = 'client_change_refused'
  readonly problem: string
  constructor(
    readonly clientId: string,
    readonly reason: ClientRefusal,
  ) {
    super(`client ${clientId}: ${CLIENT_REFUSALS[reason]}`)
    this.name = 'ClientChangeRefused'
    this.problem = CLIENT_REFUSALS[reason]
  }
}

/** A client with the APIs it may ask tokens for (`--api`). */
export interface ClientDetails {
  readonly client: Client
  readonly apis: readonly string[]
}

/**
 * What an update may change; an absent member stays as it is, a given list replaces the stored
 * one. An empty `scopes` list means every OpenID scope (as at registration); `grantTypes` must not
 * be empty. `backchannelLogoutUri: null` removes the URI.
 */
export interface ClientChanges {
  readonly name?: string
  readonly redirectUris?: readonly string[]
  readonly postLogoutRedirectUris?: readonly string[]
  readonly grantTypes?: readonly string[]
  readonly scopes?: readonly string[]
  readonly apis?: readonly string[]
  /** A resource server for tokens issued without `resource` (introspection, RFC 7662 §4). */
  readonly introspect?: boolean
  /** The registered APIs whose tokens it may introspect. */
  readonly introspectApis?: readonly string[]
  readonly requireMfa?: boolean
  readonly requireDpop?: boolean
  readonly requirePar?: boolean
  readonly backchannelLogoutUri?: string | null
  readonly backchannelLogoutSessionRequired?: boolean
  /** The page links (RFC 7591 §2); null removes one. */
  readonly logoUri?: string | null
  readonly clientUri?: string | null
  readonly policyUri?: string | null
  readonly tosUri?: string | null
}

/** How long a rotated-out secret keeps working unless told otherwise: a day to roll the new one out. */
export const DEFAULT_SECRET_OVERLAP = 24 * 3600
/** The longest overlap: two secrets working side by side is a window, not a state. */
export const MAX_SECRET_OVERLAP = 30 * 24 * 3600

export interface SecretRotation {
  readonly client: Client
  /** The new secret: shown once, only its hash is stored. */
  readonly secret: string
  /** When the previous secret stops working (epoch seconds); null: it stopped at once. */
  readonly previousSecretExpiresAt: number | null
}

const PAGE_LINK_FIELDS = Object.keys(PAGE_LINK_MEMBERS) as PageLinkField[]

const LIST_FIELDS = ['name', 'redirectUris', 'postLogoutRedirectUris', 'grantTypes', 'scopes'] as const

/** ClientChanges member → the field name of problems, events and the API. */
const FIELD_NAMES: Readonly<Record<keyof ClientChanges, string>> = {
  name: 'name',
  redirectUris: 'redirect_uris',
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  grantTypes: 'grant_types',
  scopes: 'scopes',
  apis: 'apis',
  introspect: 'introspect',
  introspectApis: 'introspect_apis',
  requireMfa: 'require_mfa',
  requireDpop: 'require_dpop',
  requirePar: 'require_par',
  backchannelLogoutUri: 'backchannel_logout_uri',
  backchannelLogoutSessionRequired: 'backchannel_logout_session_required',
  logoUri: 'logo_uri',
  clientUri: 'client_uri',
  policyUri: 'policy_uri',
  tosUri: 'tos_uri',
}

async function findClient(deps: Pick<ClientLifecycleDeps, 'repos'>, clientId: string): Promise<Client> {
  const client = await deps.repos.clients.find(clientId)
  if (!client) throw new UnknownClient(clientId)
  return client
}

async function checkApis(
  deps: Pick<ClientLifecycleDeps, 'repos'>,
  field: 'apis' | 'introspect_apis',
  apis: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(apis)]
  await requireRegisteredApis(deps.repos, field, wanted)
  return wanted
}

/** Registers a client (the registration rules apply); the secret is returned once. Audited as client_registered. */
export async function createClient(
  deps: ClientLifecycleDeps,
  request: NewClientRequest,
  actor: Actor,
): Promise<{ client: Client; secret: string | null }> {
  const registered = await registerClient(deps.repos, request, deps.clock.now(), { issuer: deps.config.issuer })
  const { client } = registered
  await deps.audit.record(
    'client_registered',
    { clientId: client.id, detail: { actor: actorLabel(actor), name: client.name, redirectUris: client.redirectUris } },
    'client registered by an operator',
  )
  return registered
}

/** Every client, oldest first, optionally only those registered one way. */
export async function listClients(deps: Pick<ClientLifecycleDeps, 'repos'>, registration?: ClientRegistration): Promise<Client[]> {
  const clients = await deps.repos.clients.list()
  return registration === undefined ? clients : clients.filter((client) => client.registration === registration)
}

/** One client with its allowed APIs; throws UnknownClient. */
export async function getClient(deps: Pick<ClientLifecycleDeps, 'repos'>, clientId: string): Promise<ClientDetails> {
  const client = await findClient(deps, clientId)
  return { client, apis: [...(await deps.repos.apis.allowedFor(client.id))].sort() }
}

/** A client as surfaces show it: registration metadata, allowed APIs and the state of its secrets — never a secret or hash. */
export function describeClientDetails(details: ClientDetails, now: number): Record<string, unknown> {
  const previous = details.client.previousSecret
  return {
    ...describeClient(details.client),
    apis: details.apis,
    previous_secret_expires_at: previous !== null && previous.expiresAt > now ? previous.expiresAt : null,
  }
}

/**
 * Changes a client. The result must pass the registration rules as a whole (an authorization_code
 * client keeps a redirect URI, a public client gets no client_credentials…). A client described by
 * a metadata document keeps what its document says (only the policies change); only clients
 * registered by an operator are allowed APIs. Audited as client_updated with the changed fields.
 */
export async function updateClient(
  deps: ClientLifecycleDeps,
  clientId: string,
  changes: ClientChanges,
  actor: Actor,
): Promise<ClientDetails> {
  const client = await findClient(deps, clientId)
  const changed = (Object.keys(changes) as (keyof ClientChanges)[]).filter((key) => changes[key] !== undefined)
  if (changed.length === 0) return getClient(deps, clientId)
  if (client.registration === 'metadata_document' && LIST_FIELDS.some((field) => changes[field] !== undefined))
    throw new ClientChangeRefused(client.id, 'document_settings')
  if (client.registration !== 'cli' && changes.apis !== undefined) throw new ClientChangeRefused(client.id, 'operator_apis')
  const introspects = (changes.introspect ?? false) || (changes.introspectApis ?? []).length > 0
  if (introspects && client.registration !== 'cli') throw new ClientChangeRefused(client.id, 'operator_introspection')
  if (introspects && isPublicClient(client))
    throw new InvalidClientMetadata(changes.introspect === true ? 'introspect' : 'introspect_apis', 'introspect_public')
  if (changes.grantTypes !== undefined && changes.grantTypes.length === 0)
    throw new InvalidClientMetadata('grant_types', 'grant_types_empty')
  const logoutUri = changes.backchannelLogoutUri !== undefined ? changes.backchannelLogoutUri : client.backchannelLogoutUri
  const sessionRequired = changes.backchannelLogoutSessionRequired ?? client.backchannelLogoutSessionRequired
  let checked: Pick<Client, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'scopes'> = client
  if (LIST_FIELDS.some((field) => changes[field] !== undefined)) {
    // The registration rules judge the client as it would be; only the changeable fields are taken.
    checked = buildClient(
      {
        name: changes.name ?? client.name,
        redirectUris: changes.redirectUris ?? client.redirectUris,
        postLogoutRedirectUris: changes.postLogoutRedirectUris ?? client.postLogoutRedirectUris,
        isPublic: isPublicClient(client),
        grantTypes: changes.grantTypes ?? client.grantTypes,
        pkce: client.pkceRequired ? 'required' : 'optional',
        scopes: changes.scopes ?? client.scopes,
        thirdParty: !client.firstParty,
        introspect: client.introspect,
        ...(logoutUri !== null ? { backchannelLogoutUri: logoutUri } : {}),
        backchannelLogoutSessionRequired: sessionRequired,
      },
      client.createdAt,
      { issuer: deps.config.issuer },
    ).client
  } else {
    // Only policies change: the URIs and lists stay as registered (a self-registered client's
    // were judged by its own rules), only a new logout URI is checked.
    if (changes.backchannelLogoutUri != null) checkBackchannelLogoutUri(changes.backchannelLogoutUri, { issuer: deps.config.issuer })
    if (sessionRequired && logoutUri === null)
      throw new InvalidClientMetadata('backchannel_logout_session_required', 'logout_session_without_uri')
  }
  const pageLinksChanged = PAGE_LINK_FIELDS.some((field) => changes[field] !== undefined)
  if (pageLinksChanged && client.registration === 'metadata_document') throw new ClientChangeRefused(client.id, 'document_links')
  const metadata: Record<string, unknown> = { ...client.metadata }
  for (const field of PAGE_LINK_FIELDS) {
    const value = changes[field]
    if (value === null) delete metadata[PAGE_LINK_MEMBERS[field]]
    else if (value !== undefined) metadata[PAGE_LINK_MEMBERS[field]] = checkPageLink(field, value, { issuer: deps.config.issuer })
  }
  const apis = changes.apis === undefined ? undefined : await checkApis(deps, 'apis', changes.apis)
  const introspectApis =
    changes.introspectApis === undefined ? client.introspectApis : await checkApis(deps, 'introspect_apis', changes.introspectApis)
  const updated: Client = {
    ...client,
    name: checked.name,
    redirectUris: checked.redirectUris,
    postLogoutRedirectUris: checked.postLogoutRedirectUris,
    grantTypes: checked.grantTypes,
    scopes: checked.scopes,
    introspect: changes.introspect ?? client.introspect,
    introspectApis,
    requireMfa: changes.requireMfa ?? client.requireMfa,
    requireDpop: changes.requireDpop ?? client.requireDpop,
    requirePar: changes.requirePar ?? client.requirePar,
    backchannelLogoutUri: logoutUri,
    backchannelLogoutSessionRequired: sessionRequired,
    metadata,
  }
  if (!(await deps.repos.clients.saveSettings(updated, apis))) throw new UnknownClient(clientId)
  await deps.audit.record(
    'client_updated',
    { clientId: client.id, detail: { actor: actorLabel(actor), changed: changed.map((key) => FIELD_NAMES[key]) } },
    'client settings changed',
  )
  return getClient(deps, clientId)
}

/** Parses an overlap given in seconds; throws InvalidClientMetadata('secret_overlap') outside 0…MAX_SECRET_OVERLAP. */
function checkOverlap(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECRET_OVERLAP)
    throw new InvalidClientMetadata('secret_overlap', 'secret_overlap_range', String(seconds))
  return seconds
}

/**
 * Gives a confidential client a new secret. The one it replaces keeps working for
 * `overlapSeconds` (default DEFAULT_SECRET_OVERLAP; 0 ends it at once) so the client can be
 * redeployed without downtime; a secret rotated out earlier and still in its overlap stops now
 * (only one previous secret is kept). Audited as client_secret_rotated.
 */
export async function rotateClientSecret(
  deps: ClientLifecycleDeps,
  clientId: string,
  options: { readonly overlapSeconds?: number },
  actor: Actor,
): Promise<SecretRotation> {
  const overlap = checkOverlap(options.overlapSeconds ?? DEFAULT_SECRET_OVERLAP)
  const client = await findClient(deps, clientId)
  if (client.registration === 'metadata_document') throw new ClientChangeRefused(client.id, 'document_secret')
  if (usesPrivateKeyJwt(client)) throw new ClientChangeRefused(client.id, 'key_authentication')
  if (client.secretHash === null) throw new ClientChangeRefused(client.id, 'public_secret')
  const now = deps.clock.now()
  const secret = randomToken()
  const previousSecretExpiresAt = overlap === 0 ? null : now + overlap
  // Conditional on the hash read above: of two concurrent rotations one wins, the other is refused.
  if (!(await deps.repos.clients.rotateSecret(client.id, client.secretHash, hashSecret(secret), previousSecretExpiresAt)))
    throw new ClientChangeRefused(client.id, 'secret_changed')
  await deps.audit.record(
    'client_secret_rotated',
    { clientId: client.id, detail: { actor: actorLabel(actor), overlap, previousSecretExpiresAt } },
    'client secret rotated',
  )
  return { client: await findClient(deps, clientId), secret, previousSecretExpiresAt }
}

/**
 * Deletes a client and everything it was given: its grants with their access and refresh tokens,
 * its client_credentials tokens, the users' consents for it (one transaction). Audited as
 * client_removed; throws UnknownClient.
 */
export async function deleteClient(deps: ClientLifecycleDeps, clientId: string, actor: Actor): Promise<void> {
  const client = await findClient(deps, clientId)
  if (!(await deps.repos.clients.removeWithAccess(client.id, deps.clock.now()))) throw new UnknownClient(clientId)
  await deps.audit.record(
    'client_removed',
    { clientId: client.id, detail: { actor: actorLabel(actor), name: client.name, registration: client.registration } },
    'client deleted by an operator',
  )
}
