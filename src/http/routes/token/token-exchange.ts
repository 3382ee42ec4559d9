/**
 * Token exchange grant (RFC 8693), delegation only: a confidential operator client presents a
 * user's live access token and gets one for another registered API, with `act` naming itself.
 * No refresh token and no ID token; the new token hangs off the user's grant, so revoking that
 * grant (or signing out of its session) revokes it too. Rules: oauth/grants/token-exchange.ts.
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import {
  ACCESS_TOKEN_TYPE,
  delegationChain,
  exchangedScope,
  exchangedTtl,
  exchangeTarget,
  mayExchange,
  readExchangeRequest,
  subjectTokenRefused,
} from '../../../oauth/grants/token-exchange.js'
import type { RawParams } from '../../../oauth/params.js'
import { apiScopeNames, clientApiScopes, mayUseApi } from '../../../oauth/resource.js'
import { issueTokenSet, type TokenSet } from '../../../tokens/issue.js'
import { presentedToken, TokenInvalid, verifyAccessToken, type VerifiedAccessToken } from '../../../tokens/verify.js'
import { accessTarget } from '../../../apis/resources.js'
import { isPublicClient, type Client } from '../../../model/client.js'
import type { Grant } from '../../../model/grant.js'
import type { User } from '../../../model/user.js'
import type { TokenRequestContext } from './index.js'

export async function exchangeToken(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
): Promise<TokenSet & { issued_token_type: string }> {
  // Per-API permission exists only for operator clients (`idp clients add --api`); a client must
  // authenticate, since it becomes the actor every API downstream sees.
  if (isPublicClient(client)) throw new OAuthError('unauthorized_client', 'public clients cannot exchange tokens')
  if (client.registration !== 'cli') throw new OAuthError('unauthorized_client', 'token exchange is for operator-registered clients')
  const request = readExchangeRequest(params)
  const targetId = exchangeTarget(request.targets)
  const [api, actorApis] = await Promise.all([deps.repos.apis.find(targetId), deps.repos.apis.allowedFor(client.id)])
  if (!api) throw new OAuthError('invalid_target', 'the target is not a registered API')
  if (!mayUseApi(client, api, actorApis)) throw new OAuthError('invalid_target', 'the client may not ask for this API')

  const now = deps.clock.now()
  const { claims, grant, user } = await liveUserToken(deps, request.subjectToken, now)
  if (!mayExchange(client.id, { clientId: claims.client_id, audience: typeof claims.aud === 'string' ? claims.aud : '' }, actorApis))
    throw subjectTokenRefused('the client may not exchange this token')
  const scope = exchangedScope(claims.scope, clientApiScopes(client.scopes, apiScopeNames(api)), request.scope)
  const act = delegationChain(client.id, claims['act'])
  const target = await accessTarget(deps, api.identifier, scope)
  const access = { ...target, scope, ttl: exchangedTtl(target.ttl, claims.exp, now) }
  const tokens = await issueTokenSet(deps, {
    clientId: client.id,
    user,
    grantId: grant.id,
    // No `openid`: no ID token. The access token's scope is `access.scope`.
    scope,
    authTime: grant.authTime,
    nonce: null,
    amr: grant.amr,
    access,
    act,
    dpopJkt: context.dpopJkt,
  })
  await deps.audit.record(
    'token_exchanged',
    {
      userId: user.id,
      clientId: client.id,
      ip: context.ip,
      detail: { subjectClientId: claims.client_id, audience: api.identifier, scope },
    },
    'token exchanged for a client acting for a user',
  )
  return { ...tokens, issued_token_type: ACCESS_TOKEN_TYPE }
}

/**
 * The subject token must be one of our access tokens that is live (signature, at+jwt, expiry,
 * its own and its grant's revocation) and a user's (a grant and an active user behind it, not a
 * client_credentials token). Every failure is the same invalid_request (RFC 8693 §2.2.2); the reason goes to logs.
 */
async function liveUserToken(deps: Deps, raw: string, now: number): Promise<{ claims: VerifiedAccessToken; grant: Grant; user: User }> {
  let claims: VerifiedAccessToken
  try {
    claims = await verifyAccessToken(raw, { keys: deps.keys, issuer: deps.config.issuer, now, cache: deps.verifiedTokens })
  } catch (error) {
    if (error instanceof TokenInvalid) throw subjectTokenRefused(error.reason)
    throw error
  }
  const live = await deps.repos.accessTokens.findLive(presentedToken(claims), now)
  if (!live) throw subjectTokenRefused('revoked or unknown')
  if (live.grantId === null) throw subjectTokenRefused('not a user token')
  const grant = await deps.repos.grants.find(live.grantId)
  if (!grant || grant.revokedAt !== null || grant.userId !== claims.sub) throw subjectTokenRefused('no live grant for this user')
  const user = await deps.repos.users.findById(grant.userId)
  if (!user || user.disabledAt !== null) throw subjectTokenRefused('no active user')
  return { claims, grant, user }
}
