/** client_credentials grant (RFC 6749 §4.4): service-to-service; sub = client_id; no refresh or ID token. */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { clientCredentialsScope } from '../../../oauth/grants/client-credentials.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { issueTokenSet, type TokenSet } from '../../../tokens/issue.js'
import { isPublicClient, type Client } from '../../../model/client.js'

export async function issueClientCredentials(deps: Deps, client: Client, params: RawParams): Promise<TokenSet> {
  if (isPublicClient(client)) throw new OAuthError('unauthorized_client', 'public clients cannot use client_credentials')
  const scope = clientCredentialsScope(client, single(params, 'scope'))
  deps.log.info({ event: 'client_credentials', clientId: client.id }, 'client credentials token issued')
  return issueTokenSet(deps, { clientId: client.id, user: null, grantId: null, scope, authTime: null, nonce: null, amr: null })
}
