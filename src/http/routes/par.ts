/**
 * /par (RFC 9126 §2): the client pushes its authorization request, authenticated like at /token,
 * and gets a single-use request_uri for /authorize. A DPoP proof with the push binds the code to
 * its key (RFC 9449 §10.1).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../deps.js'
import { ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { pushAuthorizationRequest } from '../../par/pushed-requests.js'
import { readClientRequest, requireFormBody } from '../client-authentication.js'
import { AuthorizationHeader, OAuthParams } from '../schemas.js'

export const parRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const url = `${deps.config.issuer}${ENDPOINT_PATHS.pushedAuthorizationRequest}`
  app.post(
    ENDPOINT_PATHS.pushedAuthorizationRequest,
    { schema: { body: OAuthParams, headers: AuthorizationHeader }, preValidation: requireFormBody },
    async (request, reply) => {
      const { params, client } = await readClientRequest(deps, request)
      const dpopJkt = await deps.dpop.verify({ header: request.headers['dpop'], method: 'POST', url, status: 400 })
      const pushed = await pushAuthorizationRequest(deps, client, params, dpopJkt)
      const nonce = deps.dpop.nonce()
      if (nonce !== undefined) reply.header('dpop-nonce', nonce)
      return reply.status(201).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(pushed)
    },
  )
}
