/**
 * RFC 8707 resource indicators as pure rules: which APIs an authorization or a token request may
 * name, and which scopes a token for one API carries. One audience per access token; without a
 * `resource` nothing changes (Tessera's own audience, the scopes as before).
 */
import { OAuthError } from '../errors/oauth-error.js'
import type { Api } from '../model/api.js'
import type { Client } from '../model/client.js'
import { SUPPORTED_SCOPES } from './scope.js'

/** RFC 8707 §2: an absolute URI without a fragment. (A query is allowed but discouraged.) */
export function parseResources(raw: string | readonly string[] | undefined): string[] {
  const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : [...raw]
  const resources = [...new Set(values.filter((value) => value !== ''))]
  for (const resource of resources) {
    let url: URL
    try {
      url = new URL(resource)
    } catch {
      throw new OAuthError('invalid_target', 'resource must be an absolute URI')
    }
    if (resource.includes('#') || url.hash !== '') throw new OAuthError('invalid_target', 'resource must not contain a fragment')
  }
  if (resources.length > 10) throw new OAuthError('invalid_target', 'too many resources')
  return resources
}

/**
 * May this client ask for tokens for this API? Operator clients: the APIs they were allowed
 * (`idp clients add --api`). Self-registered and metadata-document clients: any API not
 * registered first-party-only (the user's consent is always asked for them).
 */
export function mayUseApi(client: Pick<Client, 'registration'>, api: Api, allowedForClient: ReadonlySet<string>): boolean {
  if (client.registration === 'cli') return allowedForClient.has(api.identifier)
  return !api.firstPartyOnly
}

/** Every requested resource must be a registered API the client may use (else invalid_target). */
export function resolveResources(resources: readonly string[], apis: ReadonlyMap<string, Api>, allowed: (api: Api) => boolean): Api[] {
  return resources.map((resource) => {
    const api = apis.get(resource)
    if (!api) throw new OAuthError('invalid_target', 'resource is not a registered API')
    if (!allowed(api)) throw new OAuthError('invalid_target', 'the client may not ask for this resource')
    return api
  })
}

export const apiScopeNames = (api: Api): string[] => api.scopes.map((scope) => scope.name)

/**
 * The scopes of `api` a client may be granted. An operator narrows a client to some of an API's
 * scopes by registering those as the client's scopes (`idp clients add --api URL --scope
 * photos:read`); a client whose scopes name none of the API's may have all of them (`--api` alone,
 * as before). Self-described clients are registered with OpenID scopes only, so for them every
 * scope of an API they may use is on offer, and the user decides on the consent screen.
 */
export function clientApiScopes(clientScopes: readonly string[], apiScopes: readonly string[]): string[] {
  const named = apiScopes.filter((scope) => clientScopes.includes(scope))
  return named.length > 0 ? named : [...apiScopes]
}

/**
 * The scopes a token for `api` carries: the granted ones that belong to it, and only those; with
 * `allowed`, only those of them too (clientApiScopes, judged again when a refresh mints a token).
 */
export function scopeForApi(grantedScope: string, api: Api, allowed: readonly string[] = apiScopeNames(api)): string {
  const permitted = new Set(allowed)
  const own = new Set(apiScopeNames(api).filter((scope) => permitted.has(scope)))
  return grantedScope
    .split(' ')
    .filter((scope) => scope !== '' && own.has(scope))
    .join(' ')
}

/** A token for Tessera itself from a grant that covers APIs: the OpenID scopes only. */
export function openIdScopesOnly(grantedScope: string): string {
  return grantedScope
    .split(' ')
    .filter((scope) => (SUPPORTED_SCOPES as readonly string[]).includes(scope))
    .join(' ')
}

/**
 * Which API a token request is for (RFC 8707 §2.2): the `resource` it names, which must be one
 * the grant covers; without one, the grant's only API, or none (Tessera's own audience) when the
 * grant named zero or several.
 */
export function tokenResource(grantResources: readonly string[], requested: readonly string[]): string | null {
  if (requested.length > 1) throw new OAuthError('invalid_target', 'one resource per token request')
  const [wanted] = requested
  if (wanted !== undefined) {
    if (!grantResources.includes(wanted)) throw new OAuthError('invalid_target', 'the grant does not cover this resource')
    return wanted
  }
  return grantResources.length === 1 ? grantResources[0]! : null
}
