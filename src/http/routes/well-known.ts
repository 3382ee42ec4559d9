import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

import type { Deps } from '../../deps.js'
import { discoveryDocument, ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { AnyQuery } from '../schemas.js'

/** Discovery and JWKS: both precomputed; URLs from configuration only, never request headers. */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const discovery = JSON.stringify(discoveryDocument(deps.config.issuer))
  // The most requested documents: headers built once, plain (not async) handlers.
  const discoveryHeaders = { 'cache-control': 'public, max-age=3600', 'content-type': 'application/json; charset=utf-8' }
  // max-age stays shorter than the time a next key is published before it signs (SECURITY.md §F).
  const jwksHeaders = { 'cache-control': `public, max-age=${deps.config.jwksMaxAge}`, 'content-type': 'application/json; charset=utf-8' }

  app.get('/.well-known/openid-configuration', { schema: { querystring: AnyQuery } }, (_request, reply) => {
    reply.headers(discoveryHeaders).send(discovery)
  })

  app.get(ENDPOINT_PATHS.jwks, { schema: { querystring: AnyQuery } }, (_request, reply) => {
    reply.headers(jwksHeaders).send(deps.keys.jwksJson())
  })
}
