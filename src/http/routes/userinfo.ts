/**
 * /userinfo (OIDC Core §5.3, RFC 6750): Bearer header only (never the query string), our own
 * at+jwt access tokens only, revocation state checked, claims limited to granted scopes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { accessTokenAudience } from '../../config/config.js'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { userinfoClaims } from '../../oauth/claims.js'
import { hasScope } from '../../oauth/scope.js'
import { TokenInvalid, verifyAccessToken } from '../../tokens/verify.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'

export const userinfoRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  async function userinfo(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Record<string, unknown>
    const body = (request.body ?? {}) as Record<string, unknown>
    if (query['access_token'] !== undefined) throw new OAuthError('invalid_request', 'access tokens are not accepted in the query string')
    if (body['access_token'] !== undefined) throw new OAuthError('invalid_request', 'send the access token in the Authorization header')
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(request.headers.authorization ?? '')
    if (!match) throw new OAuthError('invalid_token', 'a Bearer access token is required')
    const now = deps.clock.now()
    let claims
    try {
      claims = await verifyAccessToken(match[1]!, {
        keys: deps.keys,
        issuer: deps.config.issuer,
        audience: accessTokenAudience(deps.config),
        now,
      })
    } catch (error) {
      if (error instanceof TokenInvalid) throw new OAuthError('invalid_token', 'the access token is invalid', { detail: error.reason })
      throw error
    }
    if (!(await deps.repos.accessTokens.isLive(claims.jti, now)))
      throw new OAuthError('invalid_token', 'the access token is invalid', { detail: 'revoked' })
    if (!hasScope(claims.scope, 'openid')) throw new OAuthError('insufficient_scope', 'the access token lacks the openid scope')
    const user = await deps.repos.users.findById(claims.sub)
    if (!user || user.disabledAt !== null)
      throw new OAuthError('invalid_token', 'the access token is invalid', { detail: 'no active user' })
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(userinfoClaims(user, claims.scope))
  }

  app.get('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
  // No body schema: RFC 6750 clients POST with an empty body; a form body is checked in the handler.
  app.post('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
}
