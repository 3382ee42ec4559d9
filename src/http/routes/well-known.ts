import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

import type { Deps } from '../../deps.js'
import { discoveryDocument, ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { AnyQuery } from '../schemas.js'

/** Discovery and JWKS: both precomputed; URLs from configuration only, never request headers. */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const discovery = JSON.stringify(discoveryDocument(deps.config.issuer))

  app.get('/.well-known/openid-configuration', { schema: { querystring: AnyQuery } }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=3600').type('application/json; charset=utf-8').send(discovery)
  })

  app.get(ENDPOINT_PATHS.jwks, { schema: { querystring: AnyQuery } }, async (_request, reply) => {
    // max-age stays shorter than the time a next key is published before it signs (SECURITY.md §F).
    return reply.header('cache-control', `public, max-age=${deps.config.jwksMaxAge}`).type('application/json; charset=utf-8').send(deps.keys.jwksJson())
  })
}
