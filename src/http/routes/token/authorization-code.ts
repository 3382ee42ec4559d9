/**
 * authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). A replayed code is refused and
 * everything its first redemption issued is revoked (RFC 6749 §4.1.2).
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { checkCode } from '../../../oauth/grants/authorization-code.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { hasScope } from '../../../oauth/scope.js'
import { hashSecret, randomId } from '../../../secrets.js'
import type { TokenSet } from '../../../tokens/issue.js'
import { issueNewGrantTokens } from '../../../tokens/grant-tokens.js'
import { firstRefreshToken } from '../../../tokens/refresh.js'
import { parseResources, tokenResource } from '../../../oauth/resource.js'
import { isPublicClient, type Client } from '../../../model/client.js'
import type { Grant } from '../../../model/grant.js'
import { checkDpopBinding } from '../../../oauth/dpop.js'
import type { TokenRequestContext } from './index.js'

export async function redeemAuthorizationCode(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
): Promise<TokenSet & { refresh_token?: string }> {
  const rawCode = single(params, 'code')
  if (rawCode === undefined) throw new OAuthError('invalid_request', 'code is missing')
  const now = deps.clock.now()
  const codeHash = hashSecret(rawCode)
  const code = checkCode(
    await deps.repos.codes.find(codeHash),
    client,
    { redirectUri: single(params, 'redirect_uri'), codeVerifier: single(params, 'code_verifier') },
    now,
  )
  if (code.consumedAt !== null) return replayed(deps, code.grantId, client.id)
  checkDpopBinding(code.dpopJkt, context.dpopJkt, 'the authorization code')

  // Refresh tokens only for offline_access, and only to clients registered for the grant.
  const offline = hasScope(code.scope, 'offline_access') && client.grantTypes.includes('refresh_token')
  // Checked before the code is consumed: a bad resource leaves the code redeemable.
  const resource = tokenResource(code.resources, parseResources(params['resource']))
  const grant: Grant = {
    id: randomId(),
    userId: code.userId,
    clientId: client.id,
    sessionIdHash: code.sessionIdHash,
    scope: code.scope,
    authTime: code.authTime,
    createdAt: now,
    revokedAt: null,
    offline,
    expiresAt: offline ? now + deps.config.refreshTokenTtl : null,
    amr: code.amr,
    resources: code.resources,
    // RFC 9449 §5: a public client's refresh tokens are bound to the key it proved here.
    dpopJkt: isPublicClient(client) ? context.dpopJkt : null,
    acr: code.acr ?? null,
  }
  const refreshToken = firstRefreshToken(deps, grant)
  const redemption = await deps.repos.codes.redeem(codeHash, grant, refreshToken?.family ?? null, now)
  if (redemption.outcome === 'replayed') return replayed(deps, redemption.grantId, client.id)
  if (redemption.outcome === 'session_ended') throw new OAuthError('invalid_grant', 'the sign-in session that issued the code has ended')
  return issueNewGrantTokens(deps, {
    grant,
    resource,
    nonce: code.nonce,
    dpopJkt: context.dpopJkt,
    sid: redemption.sid,
    refreshToken: refreshToken?.token ?? null,
  })
}

async function replayed(deps: Deps, grantId: string | null, clientId: string): Promise<never> {
  if (grantId !== null) await deps.repos.grants.revoke(grantId, deps.clock.now())
  await deps.audit.record('code_reuse', { clientId, detail: { grantId } }, 'authorization code replayed: its grant is revoked')
  throw new OAuthError('invalid_grant', 'the authorization code has already been used')
}
