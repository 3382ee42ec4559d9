/**
 * Tracing of the real server process. With OTEL_EXPORTER_OTLP_ENDPOINT pointing at a small OTLP/HTTP
 * receiver: a request's incoming W3C traceparent continues into the exported spans (node:http's
 * and Fastify's, and PostgreSQL's on that database), the request's log line carries trace_id and
 * request_id, X-Request-Id comes back, and no query string leaves the process. The batch delay is
 * set far out, so the spans arrive through the flush at shutdown (SIGTERM), which is checked too.
 * Without the variable: nothing is exported, no OpenTelemetry package is loaded at all, and the
 * log line still carries the traceparent's trace id.
 */
import t from 'tap'
import { suiteDatabase, suiteDialect } from '../helpers/databases.js'
import { send } from '../helpers/http-client.js'
import { logLines, startOtlpReceiver, startServer, stopServer, waitHealthy } from './support.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const TOKEN_TRACE = '0af7651916cd43dd8448eb211c80319c'
const traceparent = (traceId: string) => `00-${traceId}-00f067aa0ba902b7-01`

const requestLine = (lines: Record<string, unknown>[], path: string) =>
  lines.find((line) => line['msg'] === 'request completed' && line['path'] === path)

t.test('OTEL_EXPORTER_OTLP_ENDPOINT set: spans continue the incoming trace; logs carry its id', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const postgres = suiteDialect() === 'postgres' ? await suiteDatabase('') : undefined
  if (postgres) t.teardown(() => postgres.drop())
  const server = await startServer(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'tessera-under-test',
    // Only the flush at shutdown exports (unless a batch fills up first).
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
  })
  await waitHealthy(server)

  const discovery = await send(`${server.url}/.well-known/openid-configuration?probe=SECRET-QUERY-VALUE`, {
    headers: { traceparent: traceparent(TRACE), 'x-request-id': 'ops-request-1' },
  })
  t.equal(discovery.status, 200)
  t.equal(discovery.headers.get('x-request-id'), 'ops-request-1', 'X-Request-Id echoed')
  const jwks = await send(`${server.url}/.well-known/jwks.json`, { headers: { 'x-request-id': 'not "a" sane id' } })
  t.equal(jwks.status, 200)
  t.equal(jwks.headers.get('x-request-id'), null, 'an X-Request-Id with spaces and quotes is not echoed')
  const token = await send(`${server.url}/token`, {
    method: 'POST',
    headers: { traceparent: traceparent(TOKEN_TRACE), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=nobody&client_secret=NOT-TO-BE-EXPORTED-9f3',
  })
  t.equal(token.status, 401, 'an unknown client: the request still reads the database')

  await stopServer(server)
  t.same(server.child.exitStatus, { code: 0, signal: null }, 'a clean exit')
  const spans = receiver.spans()
  t.ok(receiver.paths.length > 0 && receiver.paths.every((path) => path === '/v1/traces'), 'OTLP/HTTP posts to /v1/traces')

  const traced = spans.filter((span) => span.traceId === TRACE)
  const httpSpan = traced.find((span) => span.scope === '@opentelemetry/instrumentation-http')
  t.ok(httpSpan, `node:http's span continues the traceparent's trace (${spans.length} spans received)`)
  t.equal(httpSpan?.attributes['http.route'], '/.well-known/openid-configuration', 'named by its route')
  t.equal(httpSpan?.attributes['url.path'], '/.well-known/openid-configuration')
  t.ok(
    traced.some((span) => span.scope === '@fastify/otel'),
    'and so do Fastify route spans',
  )
  t.equal(httpSpan?.resource['service.name'], 'tessera-under-test', 'OTEL_SERVICE_NAME names the service')
  t.notOk(
    receiver.bodies.some((body) => body.includes('SECRET-QUERY-VALUE')),
    'no query string leaves the process',
  )
  t.notOk(
    receiver.bodies.some((body) => body.includes('NOT-TO-BE-EXPORTED-9f3')),
    'nor a client secret from a form body',
  )
  if (postgres)
    t.ok(
      spans.some((span) => span.traceId === TOKEN_TRACE && span.scope === '@opentelemetry/instrumentation-pg'),
      'PostgreSQL statements are spans of the request that made them',
    )

  const lines = logLines(server.child)
  t.match(requestLine(lines, '/.well-known/openid-configuration'), { trace_id: TRACE, request_id: 'ops-request-1' }, 'the access log line')
  const jwksLine = requestLine(lines, '/.well-known/jwks.json')
  t.notOk(jwksLine && 'request_id' in jwksLine, 'no request_id from an insane X-Request-Id')
  t.match(jwksLine, { trace_id: /^[0-9a-f]{32}$/ }, 'without a traceparent, the trace id of the span made for the request')
  t.ok(
    spans.some((span) => span.traceId === jwksLine?.['trace_id']),
    'which is the trace exported',
  )
  const loaded = server.loadedPackages()
  t.ok(
    loaded.includes('@opentelemetry/sdk-trace-base') && loaded.includes('@fastify/otel'),
    'the SDK was loaded (control for the test below)',
  )
})

t.test('OTEL_EXPORTER_OTLP_ENDPOINT unset: no export, no OpenTelemetry loaded; logs still carry the traceparent', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const server = await startServer(t, {
    // Only the switch turns tracing on: the signal-specific variable alone does nothing.
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  })
  await waitHealthy(server)
  const answer = await send(`${server.url}/.well-known/openid-configuration`, {
    headers: { traceparent: traceparent(TRACE), 'x-request-id': 'ops-request-2' },
  })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-request-id'), 'ops-request-2')
  const invalid = await send(`${server.url}/.well-known/jwks.json`, {
    headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
  })
  t.equal(invalid.status, 200)
  await stopServer(server)

  t.same(receiver.bodies, [], 'nothing exported')
  t.same(
    server.loadedPackages().filter((name) => name.startsWith('@opentelemetry/') || name === '@fastify/otel' || name === 'prom-client'),
    [],
    'no OpenTelemetry package (nor prom-client) was loaded',
  )
  const lines = logLines(server.child)
  t.match(requestLine(lines, '/.well-known/openid-configuration'), { trace_id: TRACE, request_id: 'ops-request-2' })
  t.notOk(
    'trace_id' in (requestLine(lines, '/.well-known/jwks.json') ?? {}),
    'an all-zero trace id is not a trace id (W3C Trace Context §3.2.2.3)',
  )
})
