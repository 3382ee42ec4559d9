/** RFC 8707 resource indicators against the registered APIs (the rules are in oauth/resource.ts). */
import { accessTokenAudience } from '../config/config.js'
import { OAuthError } from '../errors/oauth-error.js'
import type { Deps } from '../deps.js'
import type { Api } from '../model/api.js'
import type { Client } from '../model/client.js'
import {
  apiScopeNames,
  clientApiScopes,
  mayUseApi,
  openIdScopesOnly,
  parseResources,
  resolveResources,
  scopeForApi,
} from '../oauth/resource.js'

/** The APIs a request's `resource` parameters name; invalid_target for an unknown or unpermitted one. */
export async function requestedApis(
  deps: Pick<Deps, 'repos'>,
  client: Client,
  raw: string | readonly string[] | undefined,
): Promise<Api[]> {
  const resources = parseResources(raw)
  if (resources.length === 0) return []
  const [apis, allowed] = await Promise.all([
    deps.repos.apis.findMany(resources),
    client.registration === 'cli' ? deps.repos.apis.allowedFor(client.id) : Promise.resolve(new Set<string>()),
  ])
  return resolveResources(resources, apis, (api) => mayUseApi(client, api, allowed))
}

/** What an access token is for: its `aud`, its scopes and its lifetime. */
export interface AccessTarget {
  readonly audience: string
  readonly scope: string
  readonly ttl: number
}

/**
 * For `resource` (an API the grant covers, or null): the API's identifier as audience, only its
 * scopes, its lifetime; without one, Tessera's own audience and the scopes as granted, less any
 * API's scopes (those belong in tokens for their API only).
 *
 * `recheck`: the client a grant made earlier mints a token for (a refresh). Its permission is
 * judged again, as it stands now: an API taken from it (`--api` removed, the API made
 * first-party-only) gives invalid_target, and scopes it lost are left out (clientApiScopes).
 */
export async function accessTarget(
  deps: Pick<Deps, 'repos' | 'config'>,
  resource: string | null,
  grantedScope: string,
  grantResources: readonly string[] = [],
  recheck?: Client,
): Promise<AccessTarget> {
  if (resource === null) {
    const scope = grantResources.length === 0 ? grantedScope : openIdScopesOnly(grantedScope)
    return { audience: accessTokenAudience(deps.config), scope, ttl: deps.config.accessTokenTtl }
  }
  const api = await deps.repos.apis.find(resource)
  // The API was removed since the grant: nothing to issue a token for.
  if (!api) throw new OAuthError('invalid_target', 'the resource is no longer registered')
  if (recheck !== undefined) {
    const allowed = recheck.registration === 'cli' ? await deps.repos.apis.allowedFor(recheck.id) : new Set<string>()
    if (!mayUseApi(recheck, api, allowed)) throw new OAuthError('invalid_target', 'the client may no longer ask for this resource')
  }
  return {
    audience: api.identifier,
    scope: scopeForApi(grantedScope, api, recheck === undefined ? undefined : clientApiScopes(recheck.scopes, apiScopeNames(api))),
    ttl: Math.min(api.accessTokenTtl ?? deps.config.accessTokenTtl, 3600),
  }
}
