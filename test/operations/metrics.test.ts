/**
 * /metrics of the real server process (WORKERS=1): on METRICS_PORT only, bound to 127.0.0.1 by
 * default, in the Prometheus text format (read with a real parser). A token request and a failed
 * login show up under their route patterns, grant type and login result; the process, event-loop,
 * database and key figures are there; nothing of a request's URL beyond its route pattern is.
 * Runs on PostgreSQL too (TEST_DATABASE=postgres), where the pool figures appear.
 */
import t from 'tap'
import { suiteDatabase, suiteDialect } from '../helpers/databases.js'
import { clientCredentialsGrant, FetchCookieJar, loginForm, postLogin, send } from '../helpers/http-client.js'
import { histogram, idp, labelValues, listeningSockets, sample, scrape, startServer, stopServer, twoPorts, waitHealthy } from './support.js'

t.test('a single server process: figures on METRICS_PORT, never on PORT', async (t) => {
  // SQLite in the server's own directory, or a fresh PostgreSQL database (TEST_DATABASE=postgres).
  const postgres = suiteDialect() === 'postgres' ? await suiteDatabase('') : undefined
  if (postgres) t.teardown(() => postgres.drop())
  const [port, metricsPort] = await twoPorts()
  const server = await startServer(t, { METRICS_PORT: String(metricsPort), ...(postgres ? { DATABASE_URL: postgres.url } : {}) }, port)
  await waitHealthy(server)
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`

  const service = await idp(t, server, [
    'clients',
    'add',
    '--name',
    'Metrics Service',
    '--grant-type',
    'client_credentials',
    '--scope',
    'api:read',
  ])
  const email = 'metrics-user@example.com'
  await idp(t, server, ['users', 'add', '--email', email, '--password-stdin'], 'a long and correct password\n')

  const token = await clientCredentialsGrant(server.url, { id: service['client_id'] as string, secret: service['client_secret'] as string })
  t.equal(token.status, 200, `token request: ${token.text.slice(0, 200)}`)
  const jar = new FetchCookieJar()
  const form = await loginForm(server.url, jar, '/login?probe=do-not-record-me')
  const login = await postLogin(server.url, server.url, jar, { email, password: 'not the password', csrf: form.csrf })
  t.equal(login.status, 401, 'the login fails')
  t.equal((await send(`${server.url}/no/such/page/12345?probe=do-not-record-me`)).status, 404)

  const metrics = await scrape(metricsUrl)
  await t.test('the token request, by grant type and under its route pattern', async (t) => {
    t.equal(sample(metrics, 'tessera_tokens_issued_total', { grant_type: 'client_credentials' }), 1)
    t.equal(sample(metrics, 'tessera_tokens_issued_total', { grant_type: 'authorization_code' }), 0, 'other grants start at 0')
    const tokenRequests = histogram(metrics, 'tessera_http_request_duration_seconds', { route: '/token', method: 'POST', status: '200' })
    t.equal(tokenRequests?.count, 1, 'one POST /token answered 200')
    t.equal(tokenRequests?.buckets['+Inf'], 1, 'in the +Inf bucket')
    t.ok((tokenRequests?.sum ?? -1) >= 0, 'its latency summed')
  })
  await t.test('the failed login: by result, as a security event, and under its route', async (t) => {
    t.equal(sample(metrics, 'tessera_logins_total', { result: 'failure', kind: 'local' }), 1)
    t.equal(sample(metrics, 'tessera_logins_total', { result: 'success', kind: 'local' }), 0)
    t.equal(sample(metrics, 'tessera_security_events_total', { type: 'login_failure' }), 1)
    t.equal(histogram(metrics, 'tessera_http_request_duration_seconds', { route: '/login', method: 'POST', status: '401' })?.count, 1)
    t.equal(histogram(metrics, 'tessera_http_request_duration_seconds', { route: '/login', method: 'GET', status: '200' })?.count, 1)
  })
  await t.test('route labels are patterns: no URL, no query, one label for every unmatched path', async (t) => {
    const routes = labelValues(metrics, 'tessera_http_request_duration_seconds', 'route')
    t.ok(routes.includes('(unmatched)'), 'the 404 is counted as (unmatched)')
    t.notOk(
      routes.some((route) => route.includes('?') || route.includes('12345')),
      `no raw URL among ${[...new Set(routes)].join(', ')}`,
    )
    const text = await (await fetch(metricsUrl)).text()
    t.notOk(text.includes('do-not-record-me'), 'no query string anywhere')
  })
  await t.test('process, event loop, database and keys', async (t) => {
    t.equal(sample(metrics, 'tessera_processes', { role: 'single' }), 1)
    t.ok((sample(metrics, 'process_cpu_seconds_total') ?? 0) > 0, 'process CPU')
    t.ok((sample(metrics, 'process_resident_memory_bytes') ?? 0) > 0, 'resident memory')
    t.ok(metrics['nodejs_eventloop_lag_p99_seconds'], 'event-loop delay')
    t.ok(
      (histogram(metrics, 'tessera_db_query_duration_seconds', { operation: 'select', outcome: 'ok' })?.count ?? 0) > 0,
      'statements timed',
    )
    t.equal(sample(metrics, 'tessera_signing_keys', { state: 'active' }), 1)
    t.equal(sample(metrics, 'tessera_signing_keys', { state: 'next' }), 1)
    t.ok((sample(metrics, 'tessera_active_signing_key_seconds') ?? -1) >= 0, 'the active key has an age')
    t.equal(labelValues(metrics, 'tessera_signing_key_age_seconds', 'kid').length, 2, 'each key by kid')
    t.equal(sample(metrics, 'tessera_password_hashes', { state: 'waiting' }), 0, 'no hash waiting')
    if (postgres) {
      t.ok(sample(metrics, 'tessera_db_pool_connections', { state: 'idle' }) !== undefined, 'PostgreSQL pool connections')
      t.equal(sample(metrics, 'tessera_db_pool_waiting_queries'), 0)
    } else t.notOk(metrics['tessera_db_pool_connections'], 'no pool figures on SQLite')
  })

  await t.test('only GET /metrics on the metrics port; nothing of it on the server port', async (t) => {
    const onServer = await send(`${server.url}/metrics`)
    t.equal(onServer.status, 404)
    t.notOk(onServer.text.includes('tessera_'), 'no figures on PORT')
    t.equal((await send(`http://127.0.0.1:${metricsPort}/`)).status, 404)
    t.equal((await send(metricsUrl, { method: 'POST' })).status, 405)
  })

  await t.test('the process listens on PORT and on METRICS_PORT at 127.0.0.1, nothing else', async (t) => {
    const sockets = listeningSockets(server.child.process.pid!)
    t.same(sockets.map((socket) => socket.port).sort(), [port, metricsPort].sort(), JSON.stringify(sockets))
    t.same(sockets.find((socket) => socket.port === metricsPort)?.address, '127.0.0.1')
  })

  await stopServer(server)
  t.ok(server.loadedPackages().includes('prom-client'), 'prom-client was loaded (the control for the test without metrics)')
})

t.test('METRICS_PORT unset: no metrics listener, and prom-client never loaded', async (t) => {
  const server = await startServer(t, {})
  await waitHealthy(server)
  t.equal((await send(`${server.url}/metrics`)).status, 404)
  t.same(
    listeningSockets(server.child.process.pid!).map((socket) => socket.port),
    [server.port],
    'one listening socket: the server port',
  )
  await stopServer(server)
  t.same(
    server.loadedPackages().filter((name) => name === 'prom-client'),
    [],
    'prom-client not loaded',
  )
})
