/**
 * The metrics listener: METRICS_HOST:METRICS_PORT, apart from the server's own port, serving only
 * `GET /metrics` (and HEAD). A plain node:http server: no hooks, cookies or sessions, nothing of
 * the identity provider reachable through it.
 */
import { createServer, type Server } from 'node:http'
import type { Logger } from 'pino'

export interface MetricsListener {
  /** The port it listens on (METRICS_PORT). */
  readonly port: number
  close(): Promise<void>
}

export interface MetricsListenerOptions {
  readonly host: string
  readonly port: number
  readonly contentType: string
  /** The figures in the Prometheus text format (this process's, or the whole cluster's). */
  readonly render: () => Promise<string>
  readonly log: Logger
}

export async function listenForScrapes(options: MetricsListenerOptions): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/metrics') return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: see /metrics\n')
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return void response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end()
    options.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': options.contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      (error: unknown) => {
        options.log.warn(
          { event: 'metrics_failed', reason: error instanceof Error ? error.message : String(error) },
          'could not collect metrics',
        )
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n')
      },
    )
  })
  // A scrape is small and quick: nothing may hold a connection open for long.
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`metrics listener: ${error.message}`, { cause: error })))
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  // Never what keeps the process alive: it closes with the server it reports on.
  server.unref()
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  options.log.info(
    { event: 'metrics_listening', host: options.host, port: options.port },
    `metrics at http://${host}:${options.port}/metrics`,
  )
  return {
    port: options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}
