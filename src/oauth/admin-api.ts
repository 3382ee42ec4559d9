/**
 * Tessera's own admin API as a built-in resource (RFC 8707): identifier `ISSUER/admin/api`, scopes
 * `admin:read` and `admin:write`. Pure rules: only operator-registered clients that were given an
 * admin scope (`idp clients add --scope admin:read …`) may get a token for it, only with
 * client_credentials, and such a token carries nothing but admin scopes (one audience per token).
 */
import { OAuthError } from '../errors/oauth-error.js'
import type { Client } from '../model/client.js'
import { checkScopesAllowed, parseScope } from './scope.js'

/** Where the admin API is mounted, under the issuer. */
export const ADMIN_API_PATH = '/admin/api'

export const ADMIN_SCOPES = ['admin:read', 'admin:write'] as const
export type AdminScope = (typeof ADMIN_SCOPES)[number]

export const isAdminScope = (scope: string): scope is AdminScope => (ADMIN_SCOPES as readonly string[]).includes(scope)

/** The admin API's resource identifier: the `aud` of its access tokens. */
export const adminApiIdentifier = (issuer: string): string => `${issuer}${ADMIN_API_PATH}`

/** The admin scopes an operator gave the client; none for self-registered clients, whatever their scopes say. */
export const adminScopesOf = (client: Pick<Client, 'registration' | 'scopes'>): AdminScope[] =>
  client.registration === 'cli' ? client.scopes.filter(isAdminScope) : []

/**
 * Is a client_credentials request for the admin API? When `resource` names it, or, without a
 * `resource`, when the requested scopes include an admin scope, or when none are requested and the
 * client's only service scopes are admin scopes (`serviceScopes`: its non-OpenID ones).
 */
export function asksForAdminApi(
  adminIdentifier: string,
  resources: readonly string[],
  requestedScope: string | undefined,
  serviceScopes: readonly string[],
): boolean {
  if (resources.includes(adminIdentifier)) return true
  if (resources.length > 0) return false
  const wanted = parseScope(requestedScope)
  if (wanted.length > 0) return wanted.some(isAdminScope)
  return serviceScopes.length > 0 && serviceScopes.every(isAdminScope)
}

/**
 * The scope of an admin API token: the requested admin scopes, or every admin scope the client
 * was given. A client without admin scopes cannot name the resource (invalid_target); other
 * scopes cannot ride along (invalid_scope): they belong in tokens for other audiences.
 */
export function adminTokenScope(
  client: Pick<Client, 'registration' | 'scopes'>,
  resources: readonly string[],
  requestedScope: string | undefined,
): string {
  if (resources.length > 1) throw new OAuthError('invalid_target', 'one resource per token request')
  const allowed = adminScopesOf(client)
  const wanted = parseScope(requestedScope)
  if (allowed.length === 0) {
    if (resources.length === 1) throw new OAuthError('invalid_target', 'the client may not ask for this resource')
    throw new OAuthError('invalid_scope', `scope not allowed for this client: ${wanted.filter(isAdminScope).join(' ')}`)
  }
  if (wanted.length === 0) return allowed.join(' ')
  const others = wanted.filter((scope) => !isAdminScope(scope))
  if (others.length > 0)
    throw new OAuthError('invalid_scope', `a token for the admin API carries admin scopes only; ask for ${others.join(' ')} separately`)
  checkScopesAllowed(wanted, allowed)
  return wanted.join(' ')
}

/**
 * Admin scopes are an operator's to give, and only to clients an operator registered: a client
 * that registered itself (RFC 7591, a metadata document) is refused them, whatever it asks.
 * Returns the first admin scope refused, or null.
 */
export function refusedAdminScope(registration: Client['registration'], scopes: readonly string[]): AdminScope | null {
  if (registration === 'cli') return null
  return scopes.find(isAdminScope) ?? null
}
