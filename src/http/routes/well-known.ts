import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { Deps } from '../../deps.js'
import { discoveryDocument, ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { apiSecurityHeaders } from '../plugins/security-headers.js'
import { AnyQuery } from '../schemas.js'

export interface WellKnownOptions {
  readonly deps: Deps
  /** Origins allowed to read the documents from browser JavaScript (registered redirect URIs). */
  readonly allowedOrigins: () => Promise<ReadonlySet<string>>
}

/**
 * Discovery and JWKS: precomputed, URLs from configuration only, never request headers. Every
 * client and resource server fetches them, so they live in a scope of their own with no
 * per-request hooks: each response is one prebuilt header set (the API's security headers, cache lifetime, `Vary: Origin`) plus CORS for a registered origin.
 */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async (app, { deps, allowedOrigins }) => {
  const common = { ...apiSecurityHeaders({ https: deps.config.issuerIsHttps }), vary: 'Origin', 'content-type': 'application/json; charset=utf-8' }
  const discovery = JSON.stringify(discoveryDocument(deps.config.issuer))
  const discoveryHeaders = { ...common, 'cache-control': 'public, max-age=3600' }
  // max-age stays shorter than the time a next key is published before it signs (docs/security.md §F).
  const jwksHeaders = { ...common, 'cache-control': `public, max-age=${deps.config.jwksMaxAge}` }

  /** Plain (not async) handlers: a request without Origin is answered in the same tick. */
  const serve = (headers: Record<string, string>, body: () => string) => (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin
    if (origin === undefined) return void reply.headers(headers).send(body())
    return allowedOrigins().then((allowed) => {
      reply.headers(headers)
      if (allowed.has(origin)) reply.header('access-control-allow-origin', origin)
      return reply.send(body())
    })
  }

  app.get('/.well-known/openid-configuration', { schema: { querystring: AnyQuery } }, serve(discoveryHeaders, () => discovery))
  app.get(ENDPOINT_PATHS.jwks, { schema: { querystring: AnyQuery } }, serve(jwksHeaders, () => deps.keys.jwksJson()))
}
