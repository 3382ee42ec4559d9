/**
 * client_credentials grant (RFC 6749 §4.4): service-to-service; sub = client_id; no refresh or ID
 * token. With an RFC 8707 `resource`, the token is for that API (one the client was allowed) and
 * carries only its scopes; the admin API is built in (oauth/admin-api.ts).
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { clientCredentialsScope, serviceScopes } from '../../../oauth/grants/client-credentials.js'
import { adminApiIdentifier, adminTokenScope, asksForAdminApi } from '../../../oauth/admin-api.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { apiScopeNames, parseResources } from '../../../oauth/resource.js'
import { issueTokenSet, type TokenSet } from '../../../tokens/issue.js'
import { isPublicClient, type Client } from '../../../model/client.js'
import { accessTarget, requestedApis, type AccessTarget } from '../../../apis/resources.js'
import type { TokenRequestContext } from './index.js'

export async function issueClientCredentials(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
): Promise<TokenSet> {
  if (isPublicClient(client)) throw new OAuthError('unauthorized_client', 'public clients cannot use client_credentials')
  const { scope, access } = await tokenTarget(deps, client, params)
  deps.log.info({ event: 'client_credentials', clientId: client.id, audience: access.audience }, 'client credentials token issued')
  return issueTokenSet(deps, {
    clientId: client.id,
    user: null,
    grantId: null,
    scope,
    authTime: null,
    nonce: null,
    amr: null,
    access,
    dpopJkt: context.dpopJkt,
  })
}

/** The token's scope and audience: Tessera's admin API, one API the client was allowed, or none. */
async function tokenTarget(deps: Deps, client: Client, params: RawParams): Promise<{ scope: string; access: AccessTarget }> {
  // Tessera's own admin API (oauth/admin-api.ts): named by `resource`, or asked for by its scopes alone.
  const adminApi = adminApiIdentifier(deps.config.issuer)
  const resources = parseResources(params['resource'])
  if (asksForAdminApi(adminApi, resources, single(params, 'scope'), serviceScopes(client))) {
    const scope = adminTokenScope(client, resources, single(params, 'scope'))
    return { scope, access: { audience: adminApi, scope, ttl: deps.config.accessTokenTtl } }
  }
  const apis = await requestedApis(deps, client, params['resource'])
  if (apis.length > 1) throw new OAuthError('invalid_target', 'one resource per token request')
  const [api] = apis
  const scope = clientCredentialsScope(client, single(params, 'scope'), api === undefined ? undefined : apiScopeNames(api))
  return { scope, access: await accessTarget(deps, api?.identifier ?? null, scope) }
}
