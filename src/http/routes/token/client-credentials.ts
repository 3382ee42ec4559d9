/**
 * client_credentials grant (RFC 6749 §4.4): service-to-service; sub = client_id; no refresh or ID
 * token. With an RFC 8707 `resource`, the token is for that API (one the client was allowed) and
 * carries only its scopes.
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { clientCredentialsScope } from '../../../oauth/grants/client-credentials.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { apiScopeNames } from '../../../oauth/resource.js'
import { issueTokenSet, type TokenSet } from '../../../tokens/issue.js'
import { isPublicClient, type Client } from '../../../model/client.js'
import { accessTarget, requestedApis } from '../../../apis/resources.js'
import type { TokenRequestContext } from './index.js'

export async function issueClientCredentials(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
): Promise<TokenSet> {
  if (isPublicClient(client)) throw new OAuthError('unauthorized_client', 'public clients cannot use client_credentials')
  const apis = await requestedApis(deps, client, params['resource'])
  if (apis.length > 1) throw new OAuthError('invalid_target', 'one resource per token request')
  const [api] = apis
  const scope = clientCredentialsScope(client, single(params, 'scope'), api === undefined ? undefined : apiScopeNames(api))
  deps.log.info({ event: 'client_credentials', clientId: client.id }, 'client credentials token issued')
  const access = await accessTarget(deps, api?.identifier ?? null, scope)
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
