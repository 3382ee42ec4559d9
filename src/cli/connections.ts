import type { Command } from 'commander'
import {
  addConnection,
  callbackUrl,
  ConnectionProblem,
  removeConnection,
  setConnectionEnabled,
  type NewConnection,
} from '../connections/registry.js'
import type { Connection } from '../model/connection.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'
import { passwordFromStdin } from './users.js'

const describeConnection = (connection: Connection, issuer: string) => ({
  id: connection.id,
  name: connection.name,
  type: connection.type,
  issuer: connection.issuer,
  client_id: connection.clientId,
  scopes: connection.scopes,
  domains: connection.domains,
  trust_email: connection.trustEmail,
  store_tokens: connection.storeTokens,
  enabled: connection.disabledAt === null,
  redirect_uri: callbackUrl(issuer, connection.id),
  created_at: connection.createdAt,
})

interface AddOptions {
  readonly name?: string
  readonly type?: string
  readonly issuer?: string
  readonly clientId?: string
  readonly clientSecretStdin?: boolean
  readonly scope?: string[]
  readonly domain?: string[]
  readonly trustEmail?: boolean
  readonly storeTokens?: boolean
  readonly authorizationEndpoint?: string
  readonly tokenEndpoint?: string
  readonly userEndpoint?: string
  readonly mapClaim?: string[]
}

/** The service's rule violations are one CLI line each. */
const asCliError = (error: unknown): never => {
  throw error instanceof ConnectionProblem ? new CliError(error.message) : error
}

async function addCommand(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  const type = options.type ?? 'oidc'
  if (type !== 'oidc' && type !== 'oauth2') throw new CliError('--type must be oidc or oauth2')
  if (options.name === undefined) throw new CliError('--name is required')
  if (options.clientId === undefined) throw new CliError('--client-id is required')
  let clientSecret: string | null = null
  if (options.clientSecretStdin === true) {
    clientSecret = passwordFromStdin(await context.io.readStdin())
    if (clientSecret === '') throw new CliError('--client-secret-stdin: stdin was empty')
  }
  const input: NewConnection = {
    name: options.name,
    type,
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret,
    scopes: options.scope ?? [],
    domains: options.domain ?? [],
    trustEmail: options.trustEmail ?? false,
    storeTokens: options.storeTokens ?? false,
    authorizationEndpoint: options.authorizationEndpoint,
    tokenEndpoint: options.tokenEndpoint,
    userEndpoint: options.userEndpoint,
    claimMappings: options.mapClaim ?? [],
  }
  const { connection, issuer } = await context
    .withDeps(async (deps) => ({ connection: await addConnection(deps, input), issuer: deps.config.issuer }))
    .catch(asCliError)
  const redirect = callbackUrl(issuer, connection.id)
  return {
    json: describeConnection(connection, issuer),
    text: `Connection "${connection.name}" added (id ${connection.id}). Register this redirect URI at the provider: ${redirect}`,
  }
}

async function listCommand(context: CommandContext): Promise<CommandResult> {
  const { connections, issuer } = await context.withDeps(async (deps) => ({
    connections: await deps.repos.connections.list(),
    issuer: deps.config.issuer,
  }))
  const rows = [
    ['ID', 'NAME', 'TYPE', 'ISSUER', 'DOMAINS', 'TRUST_EMAIL', 'ENABLED'],
    ...connections.map((c) => [
      c.id,
      c.name,
      c.type,
      c.issuer,
      c.domains.join(' ') || '-',
      c.trustEmail ? 'yes' : 'no',
      c.disabledAt === null ? 'yes' : 'no',
    ]),
  ]
  return {
    json: { connections: connections.map((connection) => describeConnection(connection, issuer)) },
    text: connections.length === 0 ? 'No connections yet.' : table(rows),
  }
}

async function removeCommand(context: CommandContext, id: string): Promise<CommandResult> {
  const connection = await context.withDeps((deps) => removeConnection(deps, id)).catch(asCliError)
  return {
    json: { removed: connection.id },
    text: `Connection ${connection.id} removed with its linked identities; accounts made through it stay.`,
  }
}

async function enableCommand(context: CommandContext, id: string, enabled: boolean): Promise<CommandResult> {
  const connection = await context.withDeps((deps) => setConnectionEnabled(deps, id, enabled)).catch(asCliError)
  return {
    json: { id: connection.id, enabled },
    text: enabled ? `Connection ${connection.id} enabled.` : `Connection ${connection.id} disabled: no sign-ins through it until enabled.`,
  }
}

/** `idp connections add|list|remove|disable|enable`. */
export function registerConnectionsCommands(program: Command, run: RunCommand): void {
  const connections = program
    .command('connections')
    .description('upstream identity providers users can sign in with (OpenID Connect, or OAuth 2.0 like GitHub)')

  connections
    .command('add')
    .description('add a connection; for OpenID Connect the endpoints are discovered from --issuer')
    .option('--name <name>', 'shown on the login page as "Continue with NAME" (required)')
    .option('--type <type>', 'oidc (default) or oauth2')
    .option('--issuer <url>', 'the OpenID provider (https; required for oidc)')
    .option('--client-id <id>', 'the client ID Tessera has at the provider (required)')
    .option('--client-secret-stdin', 'read the client secret from stdin (one trailing line break is removed)')
    .option('--scope <scope>', 'a scope to ask for; repeatable (default: openid email profile for oidc)', repeatable)
    .option('--domain <domain>', 'an email domain whose users sign in here (home-realm discovery); repeatable', repeatable)
    .option('--trust-email', "trust the provider's verified email addresses as verified here")
    .option('--store-tokens', "keep the provider's tokens with the linked identity (sealed)")
    .option('--authorization-endpoint <url>', 'oauth2: the authorization endpoint')
    .option('--token-endpoint <url>', 'oauth2: the token endpoint')
    .option('--user-endpoint <url>', 'oauth2: the endpoint that returns the user as JSON')
    .option(
      '--map-claim <claim=field>',
      'oauth2: sub, email, email_verified or name from a field of the user document; repeatable',
      repeatable,
    )
    .addHelpText(
      'after',
      examples(
        'printf %s "$SECRET" | idp connections add --name "Company SSO" --issuer https://login.example.com --client-id tessera --client-secret-stdin --domain example.com --trust-email',
        'printf %s "$SECRET" | idp connections add --name GitHub --type oauth2 --client-id ID --client-secret-stdin --authorization-endpoint https://github.com/login/oauth/authorize --token-endpoint https://github.com/login/oauth/access_token --user-endpoint https://api.github.com/user --scope read:user --scope user:email --map-claim sub=id --map-claim name=name',
      ),
    )
    .action((options: AddOptions) => run((context) => addCommand(context, options)))

  connections
    .command('list')
    .description('list the connections')
    .action(() => run(listCommand))

  connections
    .command('remove')
    .description('remove a connection and unlink every identity linked through it')
    .argument('<id>', 'the connection id or name', nonEmpty)
    .action((id: string) => run((context) => removeCommand(context, id)))

  connections
    .command('disable')
    .description('hide a connection from the login page and refuse sign-ins through it')
    .argument('<id>', 'the connection id or name', nonEmpty)
    .action((id: string) => run((context) => enableCommand(context, id, false)))

  connections
    .command('enable')
    .description('enable a disabled connection')
    .argument('<id>', 'the connection id or name', nonEmpty)
    .action((id: string) => run((context) => enableCommand(context, id, true)))
}
