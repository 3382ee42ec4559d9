/**
 * Discovery and the JWKS answered before routing (src/http/document-fast-path.ts): the same bytes
 * as the routes, only for the requests that need nothing more, a rotated key set at once, and
 * every other request handed to Fastify.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { DocumentFastPath } from '../../src/http/document-fast-path.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { createTestApp } from '../helpers/test-app.js'

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A raw HTTP request (fetch cannot send every header the cases below need). */
function request(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }))
    })
    sent.on('error', reject)
    sent.end()
  })
}

/** Headers of a response that are the same on every request (not the date or the connection's). */
const stable = (headers: http.IncomingHttpHeaders) => {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...rest } = headers
  return rest
}

const ctx = await createTestApp({ listen: true })
t.teardown(() => ctx.close())
const port = Number(new URL(ctx.issuer).port)
const DOCUMENTS = ['/.well-known/jwks.json', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']

t.test('the server sends what the routes send, header for header', async (t) => {
  for (const path of DOCUMENTS) {
    const fast = await request(port, path)
    // Through Fastify: inject never passes the server's listener, and X-Request-Id sends a real request there too.
    const routed = await ctx.app.inject({ method: 'GET', url: path })
    const viaFastify = await request(port, path, { headers: { 'x-request-id': 'r-1' } })
    t.equal(fast.status, 200, path)
    t.equal(fast.body, routed.body, `${path}: the body`)
    t.equal(fast.body, viaFastify.body)
    const { 'x-request-id': echoed, ...fastifyHeaders } = stable(viaFastify.headers)
    t.equal(echoed, 'r-1', 'Fastify answered the request with an id')
    t.same(stable(fast.headers), fastifyHeaders, `${path}: the same headers`)
    t.equal(fast.headers['content-length'], String(Buffer.byteLength(fast.body)))
    t.match(fast.headers['cache-control'], /^public, max-age=\d+$/)
    t.equal(fast.headers['x-content-type-options'], 'nosniff')
  }
})

t.test('a rotated key set is served on the next request', async (t) => {
  const before = JSON.parse((await request(port, '/.well-known/jwks.json')).body) as { keys: { kid: string }[] }
  await ctx.deps.keys.rotate({ immediately: true })
  const after = JSON.parse((await request(port, '/.well-known/jwks.json')).body) as { keys: { kid: string }[] }
  const { keys } = JSON.parse((await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body) as { keys: { kid: string }[] }
  t.same(
    after.keys.map((key) => key.kid),
    keys.map((key) => key.kid),
  )
  const known = new Set(before.keys.map((key) => key.kid))
  t.ok(
    after.keys.some((key) => !known.has(key.kid)),
    'a new next key is published',
  )
})

t.test('only plain GETs of a document path are answered before routing', async (t) => {
  const documents = new Map([['/doc', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: () => '{"a":1}' }]])
  const metrics = createMetrics('single')
  const fastPath = new DocumentFastPath(documents, metrics)
  const passed: string[] = []
  const server = fastPath.serverFactory(
    (req, res) => {
      passed.push(`${req.method} ${req.url}`)
      res.writeHead(299).end()
    },
    { keepAliveTimeout: 5_000, requestTimeout: 30_000, connectionTimeout: 0, maxRequestsPerSocket: 0 },
  ) as http.Server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port: local } = server.address() as AddressInfo
  t.equal(server.requestTimeout, 30_000, "Fastify's timeouts are kept")

  const answered = await request(local, '/doc')
  t.same([answered.status, answered.body, answered.headers['content-length']], [200, '{"a":1}', '7'])
  t.match(await metrics.text(), /tessera_http_request_duration_seconds_count\{route="\/doc",method="GET",status="200"\} 1\n/, 'counted under its route')
  for (const [path, options] of [
    ['/doc', { method: 'HEAD' }],
    ['/doc', { method: 'POST' }],
    ['/doc?x=1', {}],
    ['/doc/', {}],
    ['/%64oc', {}],
    ['/other', {}],
    ['/doc', { headers: { origin: 'https://app.example' } }],
    ['/doc', { headers: { 'x-request-id': 'abc' } }],
  ] as const) {
    const answer = await request(local, path, options)
    t.equal(answer.status, 299, `${options.method ?? 'GET'} ${path} ${JSON.stringify(options.headers ?? {})}: to Fastify`)
  }
  t.equal(passed.length, 8)
  fastPath.close()
  t.equal((await request(local, '/doc')).status, 299, 'a closing server sends everything to Fastify')
})
