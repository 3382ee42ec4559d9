import type { Command } from 'commander'
import {
  ClientChangeRefused,
  createClient,
  deleteClient,
  describeClientDetails,
  getClient,
  listClients as listAllClients,
  rotateClientSecret,
  UnknownClient,
  updateClient as changeClient,
  type ClientChanges,
  type ClientDetails,
} from '../clients/lifecycle.js'
import { describeClient, InvalidClientMetadata, PAGE_LINK_MEMBERS, type ClientField, type PageLinkField } from '../clients/registration.js'

const PAGE_LINK_FIELDS = Object.keys(PAGE_LINK_MEMBERS) as PageLinkField[]
import { parseDuration } from '../config/fields.js'
import type { Deps } from '../deps.js'
import { CLI_ACTOR } from '../model/actor.js'
import { isPublicClient, type ClientRegistration } from '../model/client.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

const FLAGS: Readonly<Record<ClientField, string>> = {
  name: '--name',
  redirect_uris: '--redirect-uri',
  post_logout_redirect_uris: '--post-logout-redirect-uri',
  grant_types: '--grant-type',
  pkce: '--pkce',
  scopes: '--scope',
  introspect: '--introspect',
  introspect_apis: '--introspect-api',
  apis: '--api',
  backchannel_logout_uri: '--backchannel-logout-uri',
  backchannel_logout_session_required: '--backchannel-logout-session-required',
  secret_overlap: '--overlap',
  logo_uri: '--logo-uri',
  client_uri: '--client-uri',
  policy_uri: '--policy-uri',
  tos_uri: '--tos-uri',
}

/** The service's problem, said in terms of the command's flags: one line. */
function asCliError(error: unknown): unknown {
  if (error instanceof InvalidClientMetadata)
    return new CliError(`${FLAGS[error.field]}${error.value === undefined ? '' : ` ${error.value}`}: ${error.problem}`)
  if (error instanceof UnknownClient || error instanceof ClientChangeRefused) return new CliError(error.message)
  return error
}

/** Runs a service call with the CLI's dependencies, its errors said as CLI lines. */
function withClients<T>(context: CommandContext, use: (deps: Deps) => Promise<T>): Promise<T> {
  return context.withDeps(use).catch((error: unknown) => {
    throw asCliError(error)
  })
}

/** `clients add` options as commander hands them over (repeatable ones are absent when not given). */
interface AddOptions {
  readonly name?: string
  readonly redirectUri?: string[]
  readonly postLogoutRedirectUri?: string[]
  readonly public?: boolean
  readonly grantType?: string[]
  readonly pkce?: string
  readonly scope?: string[]
  readonly thirdParty?: boolean
  readonly introspect?: boolean
  readonly introspectApi?: string[]
  readonly requireMfa?: boolean
  readonly requireDpop?: boolean
  readonly requirePar?: boolean
  readonly api?: string[]
  readonly backchannelLogoutUri?: string
  readonly backchannelLogoutSessionRequired?: boolean
  readonly logoUri?: string
  readonly clientUri?: string
  readonly policyUri?: string
  readonly tosUri?: string
}

/**
 * `clients update` options. A given list replaces the stored one; `--no-post-logout-redirect-uri`,
 * `--no-api` and `--no-introspect-api` (false) empty theirs; `--no-backchannel-logout-uri` (false) removes it.
 */
interface UpdateOptions {
  readonly name?: string
  readonly redirectUri?: string[]
  readonly postLogoutRedirectUri?: string[] | false
  readonly grantType?: string[]
  readonly scope?: string[]
  readonly api?: string[] | false
  readonly introspect?: boolean
  readonly introspectApi?: string[] | false
  readonly requireMfa?: boolean
  readonly requireDpop?: boolean
  readonly requirePar?: boolean
  readonly backchannelLogoutUri?: string | false
  readonly backchannelLogoutSessionRequired?: boolean
  readonly logoUri?: string | false
  readonly clientUri?: string | false
  readonly policyUri?: string | false
  readonly tosUri?: string | false
}

async function addClient(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  const request = {
    name: options.name ?? '',
    redirectUris: options.redirectUri ?? [],
    postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
    isPublic: options.public ?? false,
    grantTypes: options.grantType ?? [],
    pkce: options.pkce,
    scopes: options.scope ?? [],
    thirdParty: options.thirdParty ?? false,
    introspect: options.introspect ?? false,
    introspectApis: options.introspectApi ?? [],
    requireMfa: options.requireMfa ?? false,
    requireDpop: options.requireDpop ?? false,
    requirePar: options.requirePar ?? false,
    apis: options.api ?? [],
    ...(options.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: options.backchannelLogoutUri } : {}),
    backchannelLogoutSessionRequired: options.backchannelLogoutSessionRequired ?? false,
    // `clients add` has no --no- forms: every link given is a string.
    ...(pageLinks(options) as { [K in PageLinkField]?: string }),
  }
  const { client, secret } = await withClients(context, (deps) => createClient(deps, request, CLI_ACTOR))
  const json: Record<string, unknown> = { client_id: client.id, ...(secret !== null ? { client_secret: secret } : {}) }
  const text = [
    `Client "${client.name}" added.`,
    `client_id:     ${client.id}`,
    ...(secret !== null
      ? [`client_secret: ${secret}`, 'The secret is shown only now; it is stored hashed.']
      : ['Public client: no secret; PKCE required.']),
  ].join('\n')
  return { json, text }
}

const REGISTRATIONS: readonly ClientRegistration[] = ['cli', 'dynamic', 'metadata_document']

async function listClients(context: CommandContext, options: { registration?: string }): Promise<CommandResult> {
  const wanted = REGISTRATIONS.find((registration) => registration === options.registration)
  if (options.registration !== undefined && wanted === undefined)
    throw new CliError(`--registration must be one of ${REGISTRATIONS.join(', ')}`)
  const clients = await context.withDeps((deps) => listAllClients(deps, wanted))
  const rows = [
    ['CLIENT_ID', 'NAME', 'TYPE', 'REGISTRATION', 'GRANTS', 'REDIRECT_URIS'],
    ...clients.map((c) => [
      c.id,
      c.name,
      isPublicClient(c) ? 'public' : 'confidential',
      c.registration,
      c.grantTypes.join(','),
      c.redirectUris.join(' '),
    ]),
  ]
  return { json: { clients: clients.map(describeClient) }, text: clients.length === 0 ? 'No clients yet.' : table(rows) }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

/** What a client's settings say, in a few words (update prints it). */
function policiesText({ client }: ClientDetails): string {
  const said = [
    client.requireMfa ? 'every sign-in needs a second factor' : 'a password alone is enough',
    client.requireDpop ? 'DPoP proofs required' : 'DPoP optional',
    client.requirePar ? 'pushed authorization requests required' : 'PAR optional',
    client.backchannelLogoutUri === null ? 'no back-channel logout' : `logout tokens to ${client.backchannelLogoutUri}`,
  ]
  return `Client ${client.id}: ${said.join('; ')}.`
}

/** The page-link flags given (add: strings; update: a string, or false for a --no- form, which removes it). */
function pageLinks<T extends string | false>(options: { [K in PageLinkField]?: T }): { [K in PageLinkField]?: Exclude<T, false> | null } {
  const links: { [K in PageLinkField]?: Exclude<T, false> | null } = {}
  for (const field of PAGE_LINK_FIELDS) {
    const value = options[field]
    if (value === '') throw new CliError(`${FLAGS[PAGE_LINK_MEMBERS[field]]}: give an https URL`)
    if (value !== undefined) links[field] = value === false ? null : (value as Exclude<T, false>)
  }
  return links
}

/** `--backchannel-logout-uri ''` is a mistake, not a removal: that is what the --no- form is for. */
function changesFrom(options: UpdateOptions): ClientChanges {
  if (options.backchannelLogoutUri === '')
    throw new CliError('--backchannel-logout-uri: give a URL, or --no-backchannel-logout-uri to remove it')
  const list = (value: string[] | false | undefined) => (value === false ? [] : value)
  const changes: ClientChanges = {
    name: options.name,
    redirectUris: options.redirectUri,
    postLogoutRedirectUris: list(options.postLogoutRedirectUri),
    grantTypes: options.grantType,
    scopes: options.scope,
    apis: list(options.api),
    introspect: options.introspect,
    introspectApis: list(options.introspectApi),
    requireMfa: options.requireMfa,
    requireDpop: options.requireDpop,
    requirePar: options.requirePar,
    backchannelLogoutUri: options.backchannelLogoutUri === false ? null : options.backchannelLogoutUri,
    backchannelLogoutSessionRequired: options.backchannelLogoutSessionRequired,
    ...pageLinks(options),
  }
  if (Object.values(changes).every((value) => value === undefined))
    throw new CliError(
      'nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --grant-type, --scope, --api, --introspect, --introspect-api, --require-mfa, --require-dpop, --require-par, --backchannel-logout-uri, --backchannel-logout-session-required, --logo-uri, --client-uri, --policy-uri or --tos-uri (or a --no- form)',
    )
  return changes
}

async function updateClient(context: CommandContext, clientId: string, options: UpdateOptions): Promise<CommandResult> {
  const changes = changesFrom(options)
  const { details, now } = await withClients(context, async (deps) => ({
    details: await changeClient(deps, clientId, changes, CLI_ACTOR),
    now: deps.clock.now(),
  }))
  return { json: describeClientDetails(details, now), text: policiesText(details) }
}

async function showClient(context: CommandContext, clientId: string): Promise<CommandResult> {
  const { details, now } = await withClients(context, async (deps) => ({ details: await getClient(deps, clientId), now: deps.clock.now() }))
  const json = describeClientDetails(details, now)
  const text = Object.entries(json)
    .map(([key, value]) => {
      const shown = Array.isArray(value) ? value.join(' ') || '-' : value === null ? '-' : String(value)
      return `${`${key}:`.padEnd(37)} ${key.endsWith('_at') && typeof value === 'number' ? iso(value) : shown}`
    })
    .join('\n')
  return { json, text }
}

/** `--overlap 0` ends the old secret at once; otherwise a duration (90s, 10m, 1h, 7d). */
function overlapSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  if (/^0+[smhd]?$/.test(raw.trim())) return 0
  try {
    return parseDuration(raw)
  } catch {
    throw new CliError('--overlap takes a duration such as 0, 1h, 24h or 7d')
  }
}

async function rotateSecret(context: CommandContext, clientId: string, options: { overlap?: string }): Promise<CommandResult> {
  const overlap = overlapSeconds(options.overlap)
  const rotation = await withClients(context, (deps) =>
    rotateClientSecret(deps, clientId, overlap === undefined ? {} : { overlapSeconds: overlap }, CLI_ACTOR),
  )
  const until = rotation.previousSecretExpiresAt
  return {
    json: { client_id: rotation.client.id, client_secret: rotation.secret, previous_secret_expires_at: until },
    text: [
      `New secret for client ${rotation.client.id}.`,
      `client_secret: ${rotation.secret}`,
      'The secret is shown only now; it is stored hashed.',
      until === null ? 'The previous secret no longer works.' : `The previous secret keeps working until ${iso(until)}.`,
    ].join('\n'),
  }
}

async function removeClient(context: CommandContext, clientId: string): Promise<CommandResult> {
  await withClients(context, (deps) => deleteClient(deps, clientId, CLI_ACTOR))
  return { json: { removed: clientId }, text: `Client ${clientId} removed; its grants and tokens are revoked.` }
}

/** `idp clients add|update|show|rotate-secret|list|remove`. */
export function registerClientsCommands(program: Command, run: RunCommand): void {
  const clients = program.command('clients').description('register, change, show, rotate the secret of, list and remove OAuth clients')

  clients
    .command('add')
    .description('register a client; prints its client_id and, for a confidential client, its secret (shown once, stored hashed)')
    .option('--name <name>', 'display name, shown on the consent page (required, at most 200 characters)')
    .option('--redirect-uri <uri>', 'a redirect URI: https (http only for loopback), no fragment or wildcard; repeatable', repeatable)
    .option('--post-logout-redirect-uri <uri>', 'a URI to return to after logout, same rules; repeatable', repeatable)
    .option('--public', 'a public (native or browser) client: no secret, PKCE required; its loopback redirect URIs may vary in port')
    .option(
      '--grant-type <type>',
      'authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code (RFC 8628, for CLIs and TVs: no redirect URI needed) or urn:ietf:params:oauth:grant-type:token-exchange; repeatable (default: the first two)',
      repeatable,
    )
    .option('--pkce <mode>', 'required (the default) or optional; public clients always require PKCE')
    .option(
      '--scope <scope>',
      'a scope the client may ask for; repeatable (default: openid profile email roles offline_access)',
      repeatable,
    )
    .option('--third-party', 'show the consent screen to users (first-party clients skip it)')
    .option(
      '--introspect',
      'a resource server for tokens asked for without resource (aud ACCESS_TOKEN_AUDIENCE): it may introspect those issued to other clients',
    )
    .option(
      '--introspect-api <identifier>',
      'a resource server for this API (idp apis add): it may introspect the API’s tokens issued to other clients; repeatable',
      repeatable,
    )
    .option('--api <identifier>', 'an API (idp apis add) the client may ask tokens for with resource=IDENTIFIER; repeatable', repeatable)
    .option(
      '--require-mfa',
      'every sign-in for this client needs a second factor (acr urn:tessera:mfa or better); users without one set it up first',
    )
    .option('--require-dpop', 'every token request must carry a DPoP proof: its tokens are sender-constrained (RFC 9449)')
    .option('--require-par', 'authorization requests only through /par (pushed authorization requests, RFC 9126)')
    .option(
      '--backchannel-logout-uri <uri>',
      'where logout tokens are POSTed when a session the client received tokens in ends (OpenID Connect Back-Channel Logout 1.0): https (http only on a loopback host while the issuer is on localhost)',
    )
    .option('--backchannel-logout-session-required', 'the client needs sid in logout tokens (Tessera always sends it)')
    .option(
      '--logo-uri <uri>',
      'https URL of the client’s logo (PNG, JPEG, GIF or WebP, at most 256 KiB), shown from this server on the sign-in and consent pages',
    )
    .option('--client-uri <uri>', 'https URL of the client’s home page, linked on the sign-in and consent pages')
    .option('--policy-uri <uri>', 'https URL of the client’s privacy policy, linked on the consent page')
    .option('--tos-uri <uri>', 'https URL of the client’s terms of service, linked on the consent page')
    .addHelpText(
      'after',
      examples(
        'idp clients add --name "Example app" --redirect-uri https://app.example/callback',
        'idp clients add --name "CLI tool" --public --redirect-uri http://127.0.0.1/callback',
        'idp clients add --name "TV app" --public --grant-type urn:ietf:params:oauth:grant-type:device_code --grant-type refresh_token',
        'idp clients add --name "Orders API" --grant-type client_credentials --introspect-api https://orders.example.com --json',
        'idp clients add --name "Web app" --redirect-uri https://app.example/callback --backchannel-logout-uri https://app.example/backchannel-logout',
      ),
    )
    .action((options: AddOptions) => run((context) => addClient(context, options)))

  clients
    .command('update')
    .description('change a client: a list given replaces the stored one; the registration rules apply to the result')
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
    .option('--name <name>', 'display name, shown on the consent page (at most 200 characters)')
    .option('--redirect-uri <uri>', 'the redirect URIs (same rules as clients add); repeatable, replaces them all', repeatable)
    .option('--post-logout-redirect-uri <uri>', 'the post-logout redirect URIs; repeatable, replaces them all', repeatable)
    .option('--no-post-logout-redirect-uri', 'remove every post-logout redirect URI')
    .option('--grant-type <type>', 'the grant types (same values as clients add); repeatable, replaces them all', repeatable)
    .option('--scope <scope>', 'the scopes the client may ask for; repeatable, replaces them all (openid is always included)', repeatable)
    .option('--api <identifier>', 'the APIs (idp apis add) the client may ask tokens for; repeatable, replaces them all', repeatable)
    .option('--no-api', 'the client may ask for no registered API')
    .option('--introspect', 'a resource server for tokens asked for without resource: it may introspect other clients’ ones')
    .option('--no-introspect', 'no longer introspects other clients’ tokens issued without resource')
    .option('--introspect-api <identifier>', 'the APIs whose tokens it may introspect; repeatable, replaces them all', repeatable)
    .option('--no-introspect-api', 'introspects the tokens of no registered API')
    .option('--require-mfa', 'require a second factor for every sign-in for this client')
    .option('--no-require-mfa', 'a password alone is enough again (a client may still ask with acr_values)')
    .option('--require-dpop', 'every token request must carry a DPoP proof (sender-constrained tokens, RFC 9449)')
    .option('--no-require-dpop', 'DPoP proofs become optional again')
    .option('--require-par', 'authorization requests only through /par (RFC 9126)')
    .option('--no-require-par', 'plain authorization requests are accepted again (unless REQUIRE_PAR=on)')
    .option('--backchannel-logout-uri <uri>', 'set where logout tokens are POSTed (same rules as clients add)')
    .option('--no-backchannel-logout-uri', 'remove the back-channel logout URI: no more logout tokens')
    .option('--backchannel-logout-session-required', 'the client needs sid in logout tokens')
    .option('--no-backchannel-logout-session-required', 'the client does not need sid (Tessera still sends it)')
    .option('--logo-uri <uri>', 'https URL of the client’s logo, shown on the sign-in and consent pages')
    .option('--no-logo-uri', 'remove the logo')
    .option('--client-uri <uri>', 'https URL of the client’s home page')
    .option('--no-client-uri', 'remove the home page link')
    .option('--policy-uri <uri>', 'https URL of the client’s privacy policy')
    .option('--no-policy-uri', 'remove the privacy policy link')
    .option('--tos-uri <uri>', 'https URL of the client’s terms of service')
    .option('--no-tos-uri', 'remove the terms of service link')
    .addHelpText(
      'after',
      examples(
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --redirect-uri https://app.example/callback --redirect-uri https://app.example/cb2',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --name "Example app" --scope openid --scope email',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --require-mfa',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --introspect-api https://orders.example.com',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --require-dpop --require-par',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --backchannel-logout-uri https://app.example/backchannel-logout',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --no-backchannel-logout-uri',
      ),
    )
    .action((clientId: string, options: UpdateOptions) => run((context) => updateClient(context, clientId, options)))

  clients
    .command('show')
    .description('one client: its settings, allowed APIs and whether a previous secret still works (secrets are never shown)')
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
    .allowUnknownOption()
    .addHelpText('after', examples('idp clients show 0fJ3kq8_Zx1TtVw2nR5c7A', 'idp clients show 0fJ3kq8_Zx1TtVw2nR5c7A --json'))
    .action((clientId: string) => run((context) => showClient(context, clientId)))

  clients
    .command('rotate-secret')
    .description(
      'give a confidential client a new secret (shown once); the previous one keeps working for the overlap, so the client can be redeployed without downtime',
    )
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
    .option('--overlap <duration>', 'how long the previous secret keeps working: 0 (ends it at once) up to 30d', '24h')
    .addHelpText(
      'after',
      examples(
        'idp clients rotate-secret 0fJ3kq8_Zx1TtVw2nR5c7A',
        'idp clients rotate-secret 0fJ3kq8_Zx1TtVw2nR5c7A --overlap 1h --json',
        'idp clients rotate-secret 0fJ3kq8_Zx1TtVw2nR5c7A --overlap 0   # the old secret leaked: stop it now',
      ),
    )
    .action((clientId: string, options: { overlap?: string }) => run((context) => rotateSecret(context, clientId, options)))

  clients
    .command('list')
    .description('list every client (secrets are never shown): registered with the CLI, by themselves (RFC 7591) or by metadata document')
    .option('--registration <kind>', 'only clients registered this way: cli, dynamic or metadata_document')
    .action((options: { registration?: string }) => run((context) => listClients(context, options)))

  clients
    .command('remove')
    .description("delete a client: its grants, refresh and access tokens are revoked and users' consents for it removed")
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
    .allowUnknownOption()
    .addHelpText('after', examples('idp clients remove 0fJ3kq8_Zx1TtVw2nR5c7A', 'idp clients remove -- -Xy_zYc4U2pQh7G1oKe9dRw'))
    .action((clientId: string) => run((context) => removeClient(context, clientId)))
}
