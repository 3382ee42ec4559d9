import { checkScopesAllowed, parseScope, SUPPORTED_SCOPES } from '../scope.js'
import { isAdminScope } from '../admin-api.js'
import { clientApiScopes } from '../resource.js'
import { OAuthError } from '../../errors/oauth-error.js'
import type { Client } from '../../model/client.js'

/** OpenID scopes describe a user; a client acting for itself has none of them. */
export const serviceScopes = (client: Client): string[] =>
  client.scopes.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope))

/**
 * Only operator-registered clients may use client_credentials. A self-registered or
 * metadata-document client is trusted by nobody but the users who consent to it: tokens for an
 * API with no user behind them would let anyone who can register (REGISTRATION=open) act on
 * every open API. Registration refuses the grant (oauth/client-metadata.ts); this is the token
 * endpoint's own check, for rows stored before that rule.
 */
export function checkClientCredentialsAllowed(client: Pick<Client, 'registration'>): void {
  if (client.registration !== 'cli')
    throw new OAuthError('unauthorized_client', 'client_credentials is for clients registered by an operator')
}

/**
 * RFC 6749 §4.4: requested scopes must be within the client's registered ones; none asked → all
 * of them. For an API (RFC 8707), the API's scopes the client may have (oauth/resource.ts
 * clientApiScopes: those its registration names, or all when it names none) are what may be asked for.
 */
export function clientCredentialsScope(client: Client, requested: string | undefined, apiScopes?: readonly string[]): string {
  // Admin scopes only ever go into tokens for the admin API (oauth/admin-api.ts).
  const allowed =
    apiScopes === undefined ? serviceScopes(client).filter((scope) => !isAdminScope(scope)) : clientApiScopes(client.scopes, apiScopes)
  const wanted = parseScope(requested)
  if (wanted.length === 0) return allowed.join(' ')
  checkScopesAllowed(wanted, allowed)
  return wanted.join(' ')
}
