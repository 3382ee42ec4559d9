/**
 * /introspect (RFC 7662): confidential clients only → recognise the token → `active:true` with
 * its claims only when it is live and the caller may learn about it: the token's own client, or
 * for access tokens a resource server registered for the token's audience (oauth/introspection.ts).
 * Anything else is `{"active":false}`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { presentedToken } from '../../tokens/verify.js'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { mayIntrospectAccessToken } from '../../oauth/introspection.js'
import { single } from '../../oauth/params.js'
import { accessTokenAudience } from '../../config/config.js'
import { readClientRequest, requireFormBody } from '../client-authentication.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'
import { identifyToken, type PresentedToken } from '../token-lookup.js'
import { isPublicClient, type Client } from '../../model/client.js'

const INACTIVE = { active: false } as const

export const introspectRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const audience = accessTokenAudience(deps.config)
  async function describe(found: PresentedToken | undefined, caller: Client, now: number): Promise<Record<string, unknown>> {
    if (!found) return INACTIVE
    const clientId = caller.id
    if (found.kind === 'access_token') {
      const { claims } = found
      if (!mayIntrospectAccessToken(caller, claims, audience)) return INACTIVE
      if (!(await deps.repos.accessTokens.isLive(presentedToken(claims), now))) return INACTIVE
      // RFC 9449 §6.2: a bound token says so, and names its key, so the resource server can check the proof.
      const cnf = claims['cnf'] as { jkt?: unknown } | undefined
      return {
        active: true,
        token_type: typeof cnf?.jkt === 'string' ? 'DPoP' : 'Bearer',
        ...(typeof cnf?.jkt === 'string' ? { cnf: { jkt: cnf.jkt } } : {}),
        sub: claims.sub,
        client_id: claims.client_id,
        scope: claims.scope,
        exp: claims.exp,
        iat: claims.iat,
        iss: claims.iss,
        aud: claims.aud,
        jti: claims.jti,
        // RFC 8693 §4.1: an exchanged token's `act` (who acts for the user) is introspected too.
        ...(claims['act'] !== undefined ? { act: claims['act'] } : {}),
      }
    }
    const { token, grant } = found
    // Refresh tokens are a client's own secret: only that client may learn about them.
    if (!grant || token.clientId !== clientId || grant.revokedAt !== null || token.superseded) return INACTIVE
    const exp = Math.min(token.idleExpiresAt, grant.expiresAt ?? 0)
    if (exp <= now) return INACTIVE
    return {
      active: true,
      token_type: 'refresh_token',
      sub: grant.userId,
      client_id: grant.clientId,
      scope: grant.scope,
      exp,
      iat: token.issuedAt,
      iss: deps.config.issuer,
    }
  }

  app.post(
    '/introspect',
    { schema: { body: OAuthParams, headers: AuthorizationHeader }, preValidation: requireFormBody },
    async (request, reply) => {
      const { params, client } = await readClientRequest(deps, request)
      if (isPublicClient(client)) throw new OAuthError('invalid_client', 'introspection requires client authentication')
      const raw = single(params, 'token')
      if (raw === undefined) throw new OAuthError('invalid_request', 'token is missing')
      const body = await describe(await identifyToken(deps, raw, single(params, 'token_type_hint')), client, deps.clock.now())
      return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(body)
    },
  )
}
