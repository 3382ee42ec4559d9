import { parseArgs } from 'node:util'
import { GRANT_TYPES, isPublicClient, type Client, type GrantType } from '../oauth/client.js'
import { registrationProblem } from '../oauth/redirect-uri.js'
import { DEFAULT_CLIENT_SCOPES, isScopeToken } from '../oauth/scope.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'
import { CliError, type CommandContext } from './context.js'
import { singlePositional, table, type CommandResult } from './output.js'

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
}

/** Validates a registration request (SECURITY.md §A) and returns the client plus its one-time secret. */
export function buildClient(input: NewClientRequest, now: number): { client: Client; secret: string | null } {
  const name = input.name.trim()
  if (name === '' || name.length > 200) throw new CliError('--name is required (at most 200 characters)')
  for (const [flag, uris] of [['--redirect-uri', input.redirectUris], ['--post-logout-redirect-uri', input.postLogoutRedirectUris]] as const) {
    for (const uri of uris) {
      const problem = registrationProblem(uri)
      if (problem !== null) throw new CliError(`${flag} ${uri}: ${problem}`)
    }
  }
  const grantTypes = input.grantTypes.length > 0 ? [...new Set(input.grantTypes)] : ['authorization_code', 'refresh_token']
  for (const grantType of grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(grantType)) throw new CliError(`--grant-type ${grantType}: must be one of ${GRANT_TYPES.join(', ')}`)
  }
  if (grantTypes.includes('authorization_code') && input.redirectUris.length === 0) throw new CliError('the authorization_code grant needs at least one --redirect-uri')
  if (input.isPublic && grantTypes.includes('client_credentials')) throw new CliError('public clients cannot use client_credentials')
  if (input.pkce !== undefined && input.pkce !== 'required' && input.pkce !== 'optional') throw new CliError('--pkce must be required or optional')
  // SECURITY.md §B: PKCE is always required for public clients.
  if (input.isPublic && input.pkce === 'optional') throw new CliError('PKCE cannot be optional for a public client')
  const scopes = input.scopes.flatMap((scope) => scope.split(' ')).filter((scope) => scope !== '')
  for (const scope of scopes) if (!isScopeToken(scope)) throw new CliError(`--scope ${scope}: invalid scope`)
  const secret = input.isPublic ? null : randomToken()
  return {
    secret,
    client: {
      id: randomId(),
      name,
      secretHash: secret === null ? null : hashSecret(secret),
      redirectUris: [...new Set(input.redirectUris)],
      postLogoutRedirectUris: [...new Set(input.postLogoutRedirectUris)],
      grantTypes: grantTypes as GrantType[],
      scopes: scopes.length > 0 ? [...new Set(['openid', ...scopes])] : [...DEFAULT_CLIENT_SCOPES],
      pkceRequired: input.isPublic || input.pkce !== 'optional',
      firstParty: input.thirdParty !== true,
      createdAt: now,
    },
  }
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
    created_at: client.createdAt,
  }
}

export async function clientsCommand(context: CommandContext, action: string | undefined, args: string[]): Promise<CommandResult> {
  switch (action) {
    case 'add': {
      const { values } = parseArgs({
        args,
        options: {
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          public: { type: 'boolean' },
          'grant-type': { type: 'string', multiple: true },
          pkce: { type: 'string' },
          scope: { type: 'string', multiple: true },
          'third-party': { type: 'boolean' },
        },
      })
      const { client, secret } = buildClient(
        {
          name: values.name ?? '',
          redirectUris: values['redirect-uri'] ?? [],
          postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          isPublic: values.public ?? false,
          grantTypes: values['grant-type'] ?? [],
          pkce: values.pkce,
          scopes: values.scope ?? [],
          thirdParty: values['third-party'] ?? false,
        },
        Math.floor(Date.now() / 1000),
      )
      await context.withDeps((deps) => deps.repos.clients.insert(client))
      const json: Record<string, unknown> = { client_id: client.id, ...(secret !== null ? { client_secret: secret } : {}) }
      const text = [`Client "${client.name}" added.`, `client_id:     ${client.id}`, ...(secret !== null ? [`client_secret: ${secret}`, 'The secret is shown only now; it is stored hashed.'] : ['Public client: no secret; PKCE required.'])].join('\n')
      return { json, text }
    }
    case 'list': {
      parseArgs({ args, options: {} })
      const clients = await context.withDeps((deps) => deps.repos.clients.list())
      const rows = [['CLIENT_ID', 'NAME', 'TYPE', 'GRANTS', 'REDIRECT_URIS'], ...clients.map((c) => [c.id, c.name, isPublicClient(c) ? 'public' : 'confidential', c.grantTypes.join(','), c.redirectUris.join(' ')])]
      return { json: { clients: clients.map(describeClient) }, text: clients.length === 0 ? 'No clients yet.' : table(rows) }
    }
    case 'remove': {
      const clientId = singlePositional(args)
      if (clientId === undefined) throw new CliError('usage: idp clients remove CLIENT_ID')
      const removed = await context.withDeps((deps) => deps.repos.clients.remove(clientId))
      if (!removed) throw new CliError(`no client with id ${clientId}`)
      return { json: { removed: clientId }, text: `Client ${clientId} removed.` }
    }
    default:
      throw new CliError('usage: idp clients add|list|remove …')
  }
}
