import type { Command } from 'commander'
import { addApi as addApiAudited, InvalidApi, removeApi as removeApiAudited, UnknownApi } from '../apis/registry.js'
import { CLI_ACTOR } from '../model/actor.js'
import { parseDuration } from '../config/fields.js'
import type { Api } from '../model/api.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

const FLAGS = { identifier: '--identifier', name: '--name', scopes: '--scope', access_token_ttl: '--access-token-ttl' } as const

const describeApi = (api: Api) => ({
  identifier: api.identifier,
  name: api.name,
  scopes: api.scopes.map((scope) => ({ name: scope.name, description: scope.description })),
  access_token_ttl: api.accessTokenTtl,
  first_party_only: api.firstPartyOnly,
  created_at: api.createdAt,
})

interface AddOptions {
  readonly identifier?: string
  readonly name?: string
  readonly scope?: string[]
  readonly accessTokenTtl?: string
  readonly firstPartyOnly?: boolean
}

async function addApi(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  let ttl: number | null = null
  if (options.accessTokenTtl !== undefined) {
    try {
      ttl = parseDuration(options.accessTokenTtl)
    } catch {
      throw new CliError('--access-token-ttl takes a duration such as 300, 5m or 1h')
    }
  }
  const request = {
    identifier: options.identifier ?? '',
    name: options.name ?? '',
    scopes: options.scope ?? [],
    accessTokenTtl: ttl,
    firstPartyOnly: options.firstPartyOnly ?? false,
  }
  // The audited service, as the admin API uses: the same rules (Tessera's own admin API identifier is reserved) and an api_registered event.
  const api = await context
    .withDeps((deps) => addApiAudited(deps, request, CLI_ACTOR))
    .catch((error: unknown) => {
      throw error instanceof InvalidApi ? new CliError(`${FLAGS[error.field]}: ${error.problem}`) : error
    })
  return {
    json: describeApi(api),
    text: `API "${api.name}" registered: tokens for it carry aud ${api.identifier}; scopes ${api.scopes.map((s) => s.name).join(' ') || '(none)'}.`,
  }
}

async function listApis(context: CommandContext): Promise<CommandResult> {
  const apis = await context.withDeps((deps) => deps.repos.apis.list())
  const rows = [
    ['IDENTIFIER', 'NAME', 'SCOPES', 'TOKEN_TTL', 'FIRST_PARTY_ONLY'],
    ...apis.map((a) => [
      a.identifier,
      a.name,
      a.scopes.map((s) => s.name).join(' '),
      a.accessTokenTtl === null ? 'default' : `${a.accessTokenTtl}s`,
      a.firstPartyOnly ? 'yes' : 'no',
    ]),
  ]
  return { json: { apis: apis.map(describeApi) }, text: apis.length === 0 ? 'No APIs yet.' : table(rows) }
}

async function removeApi(context: CommandContext, identifier: string): Promise<CommandResult> {
  await context
    .withDeps((deps) => removeApiAudited(deps, identifier, CLI_ACTOR))
    .catch((error: unknown) => {
      throw error instanceof UnknownApi ? new CliError(`no API with identifier ${identifier}`) : error
    })
  return { json: { removed: identifier }, text: `API ${identifier} removed; no new tokens are issued for it.` }
}

/** `idp apis add|list|remove`. */
export function registerApisCommands(program: Command, run: RunCommand): void {
  const apis = program.command('apis').description('APIs (resource servers) that access tokens can be for (RFC 8707 resource indicators)')

  apis
    .command('add')
    .description('register an API: clients ask for tokens for it with resource=IDENTIFIER and get aud=IDENTIFIER with only its scopes')
    .option('--identifier <uri>', 'the API identifier: an https URL (http only for localhost), no fragment (required)')
    .option('--name <name>', 'shown on consent screens (required)')
    .option('--scope <scope>', 'a scope of the API, or scope=description for the consent screen; repeatable', repeatable)
    .option('--access-token-ttl <duration>', 'lifetime of its access tokens (at most 1h; default ACCESS_TOKEN_TTL)')
    .option('--first-party-only', 'only operator-registered clients may ask for it, never self-registered ones')
    .addHelpText(
      'after',
      examples(
        'idp apis add --identifier https://api.example.com --name "Photos API" --scope "photos:read=See your photos" --scope photos:write --access-token-ttl 10m',
      ),
    )
    .action((options: AddOptions) => run((context) => addApi(context, options)))

  apis
    .command('list')
    .description('list the registered APIs')
    .action(() => run(listApis))

  apis
    .command('remove')
    .description('remove an API (tokens already issued stay valid until they expire)')
    .argument('<identifier>', 'the API identifier', nonEmpty)
    .action((identifier: string) => run((context) => removeApi(context, identifier)))
}
