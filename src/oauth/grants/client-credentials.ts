import { checkScopesAllowed, parseScope, SUPPORTED_SCOPES } from '../scope.js'
import { isAdminScope } from '../admin-api.js'
import type { Client } from '../../model/client.js'

/** OpenID scopes describe a user; a client acting for itself has none of them. */
export const serviceScopes = (client: Client): string[] =>
  client.scopes.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope))

/**
 * RFC 6749 §4.4: requested scopes must be within the client's registered ones; none asked → all
 * of them. For an API (RFC 8707), the API's scopes are what may be asked for.
 */
export function clientCredentialsScope(client: Client, requested: string | undefined, apiScopes?: readonly string[]): string {
  // Admin scopes only ever go into tokens for the admin API (oauth/admin-api.ts).
  const allowed = apiScopes === undefined ? serviceScopes(client).filter((scope) => !isAdminScope(scope)) : [...apiScopes]
  const wanted = parseScope(requested)
  if (wanted.length === 0) return allowed.join(' ')
  checkScopesAllowed(wanted, allowed)
  return wanted.join(' ')
}
