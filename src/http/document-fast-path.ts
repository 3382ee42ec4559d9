/**
 * Discovery and the JWKS answered in the HTTP server's request listener, before Fastify builds
 * its request and reply. They are the most requested URLs and static between key rotations, and
 * Fastify's per-request work was a fifth of their cost (bench/CHANGES.md items 13 and 15).
 *
 * Only a request that needs nothing but the bytes is answered here: GET of a document's exact
 * path with no query string, no Origin (CORS) and no X-Request-Id (echoed back). Everything else
 * (HEAD, queries, browsers, closing servers) goes to the routes in routes/well-known.ts, which
 * send the same headers and body. buildApp installs this only when no request is logged or
 * traced (LOG_LEVEL above info, no OpenTelemetry), since those need Fastify's request; metrics
 * are recorded here under the route's own series.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { FastifyServerFactory } from 'fastify'
import type { Metrics, RouteMetrics } from '../metrics/metrics.js'
import type { WellKnownDocument, WellKnownDocuments } from './well-known-documents.js'

interface Prepared {
  readonly body: string
  readonly headers: OutgoingHttpHeaders
}

export class DocumentFastPath {
  #open = true
  /** The last body of each document with its headers, content-length included. */
  readonly #prepared = new Map<WellKnownDocument, Prepared>()
  readonly #series = new Map<string, RouteMetrics>()

  constructor(
    private readonly documents: WellKnownDocuments,
    metrics?: Metrics,
  ) {
    if (metrics) for (const path of documents.keys()) this.#series.set(path, metrics.route(path))
  }

  /**
   * Fastify's serverFactory: Node's HTTP server as Fastify would make it (fastify/lib/server.js,
   * the same timeouts), with this answer tried before Fastify's handler.
   */
  readonly serverFactory: FastifyServerFactory = (handler, options) => {
    const server = http.createServer((options['http'] as http.ServerOptions | undefined) ?? {}, (request, response) => {
      if (!this.answer(request, response)) handler(request, response)
    })
    server.keepAliveTimeout = options['keepAliveTimeout'] as number
    server.requestTimeout = options['requestTimeout'] as number
    server.setTimeout(options['connectionTimeout'] as number)
    const perSocket = options['maxRequestsPerSocket'] as number
    if (perSocket > 0) server.maxRequestsPerSocket = perSocket
    return server
  }

  /** From now on every request goes to Fastify, which answers 503 while it closes. */
  close(): void {
    this.#open = false
  }

  /** True when the request was answered here. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.#open || request.method !== 'GET') return false
    // The raw URL: a query string, a trailing slash or an encoded character is not a document path.
    const path = request.url ?? ''
    const document = this.documents.get(path)
    if (document === undefined) return false
    const { headers } = request
    if (headers.origin !== undefined || headers['x-request-id'] !== undefined) return false
    const started = performance.now()
    const prepared = this.#prepare(document)
    response.writeHead(200, prepared.headers)
    response.end(prepared.body)
    this.#series.get(path)?.observe('GET', 200, (performance.now() - started) / 1000)
    return true
  }

  #prepare(document: WellKnownDocument): Prepared {
    const body = document.body()
    let prepared = this.#prepared.get(document)
    if (prepared?.body !== body) {
      prepared = { body, headers: { ...document.headers, 'content-length': Buffer.byteLength(body) } }
      this.#prepared.set(document, prepared)
    }
    return prepared
  }
}
