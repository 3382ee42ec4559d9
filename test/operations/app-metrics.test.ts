/**
 * The metrics of an app built in this process (on the suite's database, PostgreSQL included), read
 * in the Prometheus text format: requests under their route patterns (a HEAD once, a parametric
 * route under its pattern, unknown paths under one label), tokens by grant type, logins by result,
 * the durable outbox's backlog by kind and the signing keys' ages on the app's fake clock. And the
 * request ids: X-Request-Id echoed when sane, trace ids read from a W3C traceparent.
 */
import t from 'tap'
import Fastify from 'fastify'
import { registerHttpMetrics } from '../../src/metrics/http.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { requestIdOf, traceIdOf } from '../../src/http/request-context.js'
import { randomId } from '../../src/secrets.js'
import { createTestApp } from '../helpers/test-app.js'
import { Browser, post, signIn } from '../helpers/client.js'
import { histogram, labelValues, parseMetrics, sample } from './support.js'

const DURATION = 'tessera_http_request_duration_seconds'

t.test('route patterns, never URLs: a bare Fastify app with the request hooks', async (t) => {
  const metrics = createMetrics('single')
  const app = Fastify()
  registerHttpMetrics(app, metrics)
  app.get('/things/:id', async () => ({ ok: true }))
  app.post('/things', async (_request, reply) => reply.status(201).send({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())

  for (const url of ['/things/1', '/things/2?secret=x', '/things/3']) t.equal((await app.inject({ url })).statusCode, 200)
  t.equal((await app.inject({ method: 'HEAD', url: '/things/4' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/things' })).statusCode, 201)
  t.equal((await app.inject({ url: '/nothing/here/5' })).statusCode, 404)
  t.equal((await app.inject({ method: 'PROPFIND', url: '/nothing' })).statusCode, 404)

  const parsed = await parseMetrics(await metrics.text())
  t.equal(histogram(parsed, DURATION, { route: '/things/:id', method: 'GET', status: '200' })?.count, 3)
  t.equal(
    histogram(parsed, DURATION, { route: '/things/:id', method: 'HEAD', status: '200' })?.count,
    1,
    'the HEAD route Fastify adds: counted once',
  )
  t.equal(histogram(parsed, DURATION, { route: '/things', method: 'POST', status: '201' })?.count, 1)
  t.equal(histogram(parsed, DURATION, { route: '(unmatched)', method: 'GET', status: '404' })?.count, 1)
  t.equal(histogram(parsed, DURATION, { route: '(unmatched)', method: 'OTHER', status: '404' })?.count, 1, 'unknown methods as OTHER')
  t.same([...new Set(labelValues(parsed, DURATION, 'route'))].sort(), ['(unmatched)', '/things', '/things/:id'])
})

t.test('the whole app: tokens, logins, outbox backlog and key ages', async (t) => {
  const metrics = createMetrics('single')
  const ctx = await createTestApp({ overrides: { metrics } })
  t.teardown(() => ctx.close())
  const read = async () => parseMetrics(await metrics.text())

  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  t.equal((await post(ctx, '/token', service, { grant_type: 'client_credentials' })).statusCode, 200)
  const web = await ctx.addClient()
  const user = await ctx.addUser()
  await signIn(ctx, web, user)
  t.equal((await new Browser(ctx).login(user.email, 'a wrong password')).statusCode, 401)
  t.equal((await ctx.app.inject({ method: 'HEAD', url: '/.well-known/openid-configuration' })).statusCode, 200)

  let parsed = await read()
  t.equal(sample(parsed, 'tessera_tokens_issued_total', { grant_type: 'client_credentials' }), 1)
  t.equal(sample(parsed, 'tessera_tokens_issued_total', { grant_type: 'authorization_code' }), 1)
  t.equal(sample(parsed, 'tessera_logins_total', { result: 'success', kind: 'local' }), 1)
  t.equal(sample(parsed, 'tessera_logins_total', { result: 'failure', kind: 'local' }), 1)
  t.equal(sample(parsed, 'tessera_security_events_total', { type: 'login_success' }), 1, 'every security event by type')
  t.equal(histogram(parsed, DURATION, { route: '/token', method: 'POST', status: '200' })?.count, 2)
  t.equal(histogram(parsed, DURATION, { route: '/.well-known/openid-configuration', method: 'HEAD', status: '200' })?.count, 1)
  t.ok((histogram(parsed, 'tessera_db_query_duration_seconds', { operation: 'insert', outcome: 'ok' })?.count ?? 0) > 0)
  if (ctx.deps.store.poolUse) t.ok(sample(parsed, 'tessera_db_pool_connections', { state: 'idle' }) !== undefined, 'PostgreSQL pool')

  // Two jobs of a kind no handler runs here: one due now, one in ten minutes.
  const now = ctx.clock.now()
  const job = (nextAttemptAt: number) => ({ id: randomId(), kind: 'metrics_probe', payload: '{}', createdAt: now, nextAttemptAt })
  await ctx.deps.repos.outbox.enqueue([job(now), job(now + 600)])
  parsed = await read()
  t.equal(sample(parsed, 'tessera_outbox_pending_jobs', { kind: 'metrics_probe' }), 2)
  t.equal(sample(parsed, 'tessera_outbox_due_jobs', { kind: 'metrics_probe' }), 1)
  const age = sample(parsed, 'tessera_active_signing_key_seconds')!
  ctx.clock.advance(600)
  parsed = await read()
  t.equal(sample(parsed, 'tessera_outbox_due_jobs', { kind: 'metrics_probe' }), 2, 'the later job is due ten minutes on')
  t.equal(sample(parsed, 'tessera_active_signing_key_seconds'), age + 600, 'the active key ten minutes older')
  t.equal(sample(parsed, 'tessera_signing_keys', { state: 'active' }), 1)
})

t.test('X-Request-Id: echoed when sane, never otherwise', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const echoed = async (id: string) =>
    (await ctx.app.inject({ url: '/.well-known/jwks.json', headers: { 'x-request-id': id } })).headers['x-request-id']
  t.equal(await echoed('0b6f3c1e-6f2d-4c1a-9a51-0f3f3f3f3f3f'), '0b6f3c1e-6f2d-4c1a-9a51-0f3f3f3f3f3f')
  t.equal(await echoed('Root=1-5759e988-bd862e3fe1be46a994272793'), 'Root=1-5759e988-bd862e3fe1be46a994272793')
  t.equal(await echoed('a b'), undefined, 'no spaces')
  t.equal(await echoed('x'.repeat(129)), undefined, 'at most 128 characters')
  t.equal(await echoed('<script>'), undefined, 'no markup')
  t.equal((await ctx.app.inject({ url: '/.well-known/jwks.json' })).headers['x-request-id'], undefined, 'none sent, none made up')
})

t.test('request ids and trace ids, as parsed', async (t) => {
  t.equal(requestIdOf(['a', 'b']), undefined, 'a repeated header')
  t.equal(requestIdOf(''), undefined)
  t.equal(requestIdOf('ULID01HZXYZ'), 'ULID01HZXYZ')
  // W3C Trace Context §3.2.
  t.equal(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), '4bf92f3577b34da6a3ce929d0e0e4736')
  t.equal(
    traceIdOf('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'),
    '4bf92f3577b34da6a3ce929d0e0e4736',
    'a later version may add fields',
  )
  t.equal(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'), undefined, 'version 00 may not')
  t.equal(traceIdOf('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined, 'version ff is invalid')
  t.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined, 'all-zero trace id')
  t.equal(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), undefined, 'all-zero parent id')
  t.equal(traceIdOf('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'), undefined, 'upper case hex')
  t.equal(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'), undefined, 'short trace id')
  t.equal(traceIdOf(undefined), undefined)
})
