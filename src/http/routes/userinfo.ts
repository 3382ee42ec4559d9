/**
 * /userinfo (OIDC Core §5.3, RFC 6750, RFC 9449 §7): Bearer or DPoP header only (never the query string), our own
 * at+jwt access tokens only, revocation state checked, claims limited to granted scopes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { accessTokenAudience } from '../../config/config.js'
import { presentedToken } from '../../tokens/verify.js'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { verifyPresentedAccessToken } from '../bearer-token.js'
import { userinfoClaims } from '../../oauth/claims.js'
import { ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { hasScope } from '../../oauth/scope.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'

export const userinfoRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const userinfoUrl = `${deps.config.issuer}${ENDPOINT_PATHS.userinfo}`
  async function userinfo(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Record<string, unknown>
    const body = (request.body ?? {}) as Record<string, unknown>
    if (query['access_token'] !== undefined) throw new OAuthError('invalid_request', 'access tokens are not accepted in the query string')
    if (body['access_token'] !== undefined) throw new OAuthError('invalid_request', 'send the access token in the Authorization header')
    const { claims, scheme, invalid } = await verifyPresentedAccessToken(deps, request, {
      audience: accessTokenAudience(deps.config),
      url: userinfoUrl,
      missing: 'a Bearer or DPoP access token is required',
      notValid: 'the access token is invalid',
    })
    const now = deps.clock.now()
    if (!(await deps.repos.accessTokens.isLive(presentedToken(claims), now))) throw invalid('revoked')
    if (!hasScope(claims.scope, 'openid')) throw new OAuthError('insufficient_scope', 'the access token lacks the openid scope')
    const user = await deps.repos.users.findById(claims.sub)
    if (!user || user.disabledAt !== null) throw invalid('no active user')
    // RFC 9449 §8.2: a fresh nonce on success too, so the client's next proof carries a current one
    // instead of first being answered use_dpop_nonce.
    const nonce = scheme === 'DPoP' ? deps.dpop.nonce() : undefined
    if (nonce !== undefined) reply.header('dpop-nonce', nonce)
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(userinfoClaims(user, claims.scope))
  }

  app.get('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
  // No body schema: RFC 6750 clients POST with an empty body; a form body is checked in the handler.
  app.post('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
}
