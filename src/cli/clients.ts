import type { Command } from 'commander'
import {
  checkBackchannelLogoutUri,
  describeClient,
  InvalidClientMetadata,
  registerClient,
  type ClientField,
} from '../clients/registration.js'
import { isPublicClient, type ClientPolicies, type ClientRegistration } from '../model/client.js'
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
  apis: '--api',
  backchannel_logout_uri: '--backchannel-logout-uri',
  backchannel_logout_session_required: '--backchannel-logout-session-required',
}

/** The service's problem, said in terms of the command's flags. */
function asCliError(error: unknown): unknown {
  if (!(error instanceof InvalidClientMetadata)) return error
  return new CliError(`${FLAGS[error.field]}${error.value === undefined ? '' : ` ${error.value}`}: ${error.problem}`)
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
  readonly requireMfa?: boolean
  readonly requireDpop?: boolean
  readonly requirePar?: boolean
  readonly api?: string[]
  readonly backchannelLogoutUri?: string
  readonly backchannelLogoutSessionRequired?: boolean
}

/** `clients update` options; `--no-backchannel-logout-uri` gives false (remove it). */
interface UpdateOptions {
  readonly requireMfa?: boolean
  readonly requireDpop?: boolean
  readonly requirePar?: boolean
  readonly backchannelLogoutUri?: string | false
  readonly backchannelLogoutSessionRequired?: boolean
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
    requireMfa: options.requireMfa ?? false,
    requireDpop: options.requireDpop ?? false,
    requirePar: options.requirePar ?? false,
    apis: options.api ?? [],
    ...(options.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: options.backchannelLogoutUri } : {}),
    backchannelLogoutSessionRequired: options.backchannelLogoutSessionRequired ?? false,
  }
  const { client, secret } = await context
    .withDeps((deps) => registerClient(deps.repos, request, deps.clock.now(), { issuer: deps.config.issuer }))
    .catch((error: unknown) => {
      throw asCliError(error)
    })
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
  const wanted = options.registration
  if (wanted !== undefined && !(REGISTRATIONS as readonly string[]).includes(wanted))
    throw new CliError(`--registration must be one of ${REGISTRATIONS.join(', ')}`)
  const clients = (await context.withDeps((deps) => deps.repos.clients.list())).filter(
    (client) => wanted === undefined || client.registration === wanted,
  )
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

/** `--backchannel-logout-uri URI` sets it (checked like at registration), `--no-backchannel-logout-uri` removes it. */
function logoutUriChange(value: string | false | undefined, issuer: string): Pick<ClientPolicies, 'backchannelLogoutUri'> {
  if (value === undefined) return {}
  if (value === false) return { backchannelLogoutUri: null }
  if (value === '') throw new CliError('--backchannel-logout-uri: give a URL, or --no-backchannel-logout-uri to remove it')
  try {
    return { backchannelLogoutUri: checkBackchannelLogoutUri(value, { issuer }) }
  } catch (error) {
    throw asCliError(error)
  }
}

async function updateClient(context: CommandContext, clientId: string, options: UpdateOptions): Promise<CommandResult> {
  const policies: ClientPolicies = {
    ...(options.requireMfa !== undefined ? { requireMfa: options.requireMfa } : {}),
    ...(options.requireDpop !== undefined ? { requireDpop: options.requireDpop } : {}),
    ...(options.requirePar !== undefined ? { requirePar: options.requirePar } : {}),
    ...logoutUriChange(options.backchannelLogoutUri, context.config.issuer),
    ...(options.backchannelLogoutSessionRequired !== undefined
      ? { backchannelLogoutSessionRequired: options.backchannelLogoutSessionRequired }
      : {}),
  }
  if (Object.keys(policies).length === 0)
    throw new CliError(
      'nothing to change: give --require-mfa, --require-dpop, --require-par, --backchannel-logout-uri or --backchannel-logout-session-required (or their --no- forms)',
    )
  const client = await context.withDeps(async (deps) => {
    if (!(await deps.repos.clients.setPolicies(clientId, policies))) throw new CliError(`no client with id ${clientId}`)
    await deps.audit.record('client_updated', { clientId, detail: policies }, 'client policy changed')
    return (await deps.repos.clients.find(clientId))!
  })
  const said = [
    client.requireMfa ? 'every sign-in needs a second factor' : 'a password alone is enough',
    client.requireDpop ? 'DPoP proofs required' : 'DPoP optional',
    client.requirePar ? 'pushed authorization requests required' : 'PAR optional',
    client.backchannelLogoutUri === null ? 'no back-channel logout' : `logout tokens to ${client.backchannelLogoutUri}`,
  ]
  return { json: describeClient(client), text: `Client ${client.id}: ${said.join('; ')}.` }
}

async function removeClient(context: CommandContext, clientId: string): Promise<CommandResult> {
  const removed = await context.withDeps((deps) => deps.repos.clients.remove(clientId))
  if (!removed) throw new CliError(`no client with id ${clientId}`)
  return { json: { removed: clientId }, text: `Client ${clientId} removed.` }
}

/** `idp clients add|list|remove`. */
export function registerClientsCommands(program: Command, run: RunCommand): void {
  const clients = program.command('clients').description('register, list and remove OAuth clients')

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
    .option('--introspect', 'a resource server: it may introspect access tokens issued to other clients')
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
    .addHelpText(
      'after',
      examples(
        'idp clients add --name "Example app" --redirect-uri https://app.example/callback',
        'idp clients add --name "CLI tool" --public --redirect-uri http://127.0.0.1/callback',
        'idp clients add --name "TV app" --public --grant-type urn:ietf:params:oauth:grant-type:device_code --grant-type refresh_token',
        'idp clients add --name "Orders API" --grant-type client_credentials --scope orders:read --introspect --json',
        'idp clients add --name "Web app" --redirect-uri https://app.example/callback --backchannel-logout-uri https://app.example/backchannel-logout',
      ),
    )
    .action((options: AddOptions) => run((context) => addClient(context, options)))

  clients
    .command('update')
    .description("change a client's policies")
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
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
    .addHelpText(
      'after',
      examples(
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --require-mfa',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --require-dpop --require-par',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --backchannel-logout-uri https://app.example/backchannel-logout',
        'idp clients update 0fJ3kq8_Zx1TtVw2nR5c7A --no-backchannel-logout-uri',
      ),
    )
    .action((clientId: string, options: UpdateOptions) => run((context) => updateClient(context, clientId, options)))

  clients
    .command('list')
    .description('list every client (secrets are never shown): registered with the CLI, by themselves (RFC 7591) or by metadata document')
    .option('--registration <kind>', 'only clients registered this way: cli, dynamic or metadata_document')
    .action((options: { registration?: string }) => run((context) => listClients(context, options)))

  clients
    .command('remove')
    .description('delete a client')
    .argument('<client-id>', 'the client_id (taken as is, even when it begins with "-")', nonEmpty)
    .allowUnknownOption()
    .addHelpText('after', examples('idp clients remove 0fJ3kq8_Zx1TtVw2nR5c7A', 'idp clients remove -- -Xy_zYc4U2pQh7G1oKe9dRw'))
    .action((clientId: string) => run((context) => removeClient(context, clientId)))
}
