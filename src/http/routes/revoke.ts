/**
 * /revoke (RFC 7009): authenticate the client (public clients by client_id) → recognise the token
 * → revoke it only if it was issued to this client → 200 whatever the outcome, so the answer
 * reveals nothing about tokens of other clients.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { presentedToken } from '../../tokens/verify.js'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { single } from '../../oauth/params.js'
import { readClientRequest, requireFormBody } from '../client-authentication.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'
import { identifyToken } from '../token-lookup.js'

export const revokeRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    '/revoke',
    { schema: { body: OAuthParams, headers: AuthorizationHeader }, preValidation: requireFormBody },
    async (request, reply) => {
      const { params, client } = await readClientRequest(deps, request)
      const raw = single(params, 'token')
      if (raw === undefined) throw new OAuthError('invalid_request', 'token is missing')
      const found = await identifyToken(deps, raw, single(params, 'token_type_hint'))
      const now = deps.clock.now()
      if (found?.kind === 'refresh_token' && found.token.clientId === client.id) {
        // Revoking a refresh token revokes its family and the family's access tokens (RFC 7009 §2.1).
        await deps.repos.grants.revoke(found.token.grantId, now)
        await deps.audit.record(
          'revocation',
          { clientId: client.id, ip: request.ip, detail: { kind: 'refresh_token', grantId: found.token.grantId } },
          'refresh token revoked',
        )
      } else if (found?.kind === 'access_token' && found.claims.client_id === client.id) {
        await deps.repos.accessTokens.revoke(presentedToken(found.claims), now)
        await deps.audit.record(
          'revocation',
          { clientId: client.id, ip: request.ip, detail: { kind: 'access_token', jti: found.claims.jti } },
          'access token revoked',
        )
      } else if (found) {
        request.log.warn({ event: 'revocation_refused', clientId: client.id }, "client tried to revoke another client's token")
      }
      return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).status(200).send()
    },
  )
}
