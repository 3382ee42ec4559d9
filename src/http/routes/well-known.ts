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
  const common = {
    ...apiSecurityHeaders({ https: deps.config.issuerIsHttps }),
    vary: 'Origin',
    'content-type': 'application/json; charset=utf-8',
  }
  const discovery = JSON.stringify(
    discoveryDocument(deps.config.issuer, {
      registration: deps.config.registration !== 'off',
      clientMetadataDocuments: deps.config.clientMetadataDocuments === 'on',
      requirePar: deps.config.requirePar === 'on',
    }),
  )
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

  // The same document under every name clients look for it: OIDC Discovery (path appended),
  // RFC 8414 (path inserted after /.well-known/ when the issuer has a path, §3.1), and the
  // path-inserted OIDC form MCP clients try. A reverse proxy that strips the issuer's path
  // forwards all of them here.
  const issuerPath = new URL(deps.config.issuer).pathname.replace(/\/+$/, '')
  const metadataPaths = new Set(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])
  if (issuerPath !== '')
    for (const name of ['openid-configuration', 'oauth-authorization-server']) metadataPaths.add(`/.well-known/${name}${issuerPath}`)
  for (const path of metadataPaths)
    app.get(
      path,
      { schema: { querystring: AnyQuery } },
      serve(discoveryHeaders, () => discovery),
    )
  app.get(
    ENDPOINT_PATHS.jwks,
    { schema: { querystring: AnyQuery } },
    serve(jwksHeaders, () => deps.keys.jwksJson()),
  )
}
