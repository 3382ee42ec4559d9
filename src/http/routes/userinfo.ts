/**
 * /userinfo (OIDC Core §5.3, RFC 6750, RFC 9449 §7): Bearer or DPoP header only (never the query string), our own
 * at+jwt access tokens only, revocation state checked, claims limited to granted scopes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { accessTokenAudience } from '../../config/config.js'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { userinfoClaims } from '../../oauth/claims.js'
import { ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { hasScope } from '../../oauth/scope.js'
import { TokenInvalid, verifyAccessToken } from '../../tokens/verify.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'

export const userinfoRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const userinfoUrl = `${deps.config.issuer}${ENDPOINT_PATHS.userinfo}`
  async function userinfo(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Record<string, unknown>
    const body = (request.body ?? {}) as Record<string, unknown>
    if (query['access_token'] !== undefined) throw new OAuthError('invalid_request', 'access tokens are not accepted in the query string')
    if (body['access_token'] !== undefined) throw new OAuthError('invalid_request', 'send the access token in the Authorization header')
    const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(request.headers.authorization ?? '')
    if (!match) throw new OAuthError('invalid_token', 'a Bearer or DPoP access token is required')
    const dpopScheme = match[1]!.toLowerCase() === 'dpop'
    const token = match[2]!
    const challenge = dpopScheme ? 'DPoP' : 'Bearer'
    const invalid = (detail: string) => new OAuthError('invalid_token', 'the access token is invalid', { detail, challenge })
    const now = deps.clock.now()
    let claims
    try {
      claims = await verifyAccessToken(token, {
        keys: deps.keys,
        issuer: deps.config.issuer,
        audience: accessTokenAudience(deps.config),
        now,
      })
    } catch (error) {
      if (error instanceof TokenInvalid) throw invalid(error.reason)
      throw error
    }
    // RFC 9449 §7: a bound token only with the DPoP scheme and a proof of its key for this request.
    const boundTo = (claims['cnf'] as { jkt?: unknown } | undefined)?.jkt
    if (typeof boundTo === 'string' || dpopScheme) {
      if (!dpopScheme)
        throw new OAuthError('invalid_token', 'a DPoP-bound access token must be sent with the DPoP scheme', { challenge: 'DPoP' })
      const proved = await deps.dpop.verify({
        header: request.headers['dpop'],
        method: request.method,
        url: userinfoUrl,
        accessToken: token,
        status: 401,
      })
      if (proved === null) throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { status: 401, challenge: 'DPoP' })
      if (proved !== boundTo) throw invalid('the DPoP proof is for another key')
    }
    if (!(await deps.repos.accessTokens.isLive(claims.jti, now))) throw invalid('revoked')
    if (!hasScope(claims.scope, 'openid')) throw new OAuthError('insufficient_scope', 'the access token lacks the openid scope')
    const user = await deps.repos.users.findById(claims.sub)
    if (!user || user.disabledAt !== null) throw invalid('no active user')
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(userinfoClaims(user, claims.scope))
  }

  app.get('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
  // No body schema: RFC 6750 clients POST with an empty body; a form body is checked in the handler.
  app.post('/userinfo', { schema: { querystring: OAuthParams, headers: AuthorizationHeader } }, userinfo)
}
