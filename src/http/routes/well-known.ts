import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'

import type { WellKnownDocument, WellKnownDocuments } from '../well-known-documents.js'
import { AnyQuery } from '../schemas.js'

export interface WellKnownOptions {
  readonly documents: WellKnownDocuments
  /** Origins allowed to read the documents from browser JavaScript (registered redirect URIs). */
  readonly allowedOrigins: () => Promise<ReadonlySet<string>>
}

/**
 * Discovery and JWKS (well-known-documents.ts): every client and resource server fetches them, so
 * they live in a scope of their own with no per-request hooks: each response is one prebuilt
 * header set plus CORS for a registered origin. Plain requests may be answered before routing
 * (document-fast-path.ts); these routes answer the rest.
 */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async (app, { documents, allowedOrigins }) => {
  /** Plain (not async) handlers: a request without Origin is answered in the same tick. */
  const serve =
    ({ headers, body }: WellKnownDocument) =>
    (request: FastifyRequest, reply: FastifyReply) => {
      const origin = request.headers.origin
      if (origin === undefined) return void reply.headers(headers).send(body())
      return allowedOrigins().then((allowed) => {
        reply.headers(headers)
        if (allowed.has(origin)) reply.header('access-control-allow-origin', origin)
        return reply.send(body())
      })
    }

  for (const [path, document] of documents) app.get(path, { schema: { querystring: AnyQuery } }, serve(document))
}
