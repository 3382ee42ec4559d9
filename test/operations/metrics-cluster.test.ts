/**
 * WORKERS=2: the primary serves /metrics with the figures of every worker added up. Requests go on
 * new connections until the log shows that both workers served some; the request count on the
 * metrics port is then the number sent — neither worker's share is missing — and both workers
 * report (tessera_processes{role="worker"} = 2). On PostgreSQL too (TEST_DATABASE=postgres).
 */
import t from 'tap'
import { suiteDatabase, suiteDialect } from '../helpers/databases.js'
import { eventually } from '../helpers/processes.js'
import {
  getOnNewConnection,
  histogram,
  listeningSockets,
  logLines,
  sample,
  scrape,
  startServer,
  stopServer,
  twoPorts,
  waitHealthy,
} from './support.js'

const ROUTE = '/.well-known/jwks.json'

t.test('a cluster of two workers: the primary reports the sum of both', async (t) => {
  const postgres = suiteDialect() === 'postgres' ? await suiteDatabase('') : undefined
  if (postgres) t.teardown(() => postgres.drop())
  const [port, metricsPort] = await twoPorts()
  const server = await startServer(
    t,
    { WORKERS: '2', METRICS_PORT: String(metricsPort), ...(postgres ? { DATABASE_URL: postgres.url } : {}) },
    port,
  )
  await waitHealthy(server, 120_000)
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
  // Both workers listening (the health check above reached one).
  await server.child.waitForStdout(/with 2 workers/, 120_000)

  const servedBy = () =>
    new Set(
      logLines(server.child)
        .filter((line) => line['path'] === ROUTE && line['status'] === 200)
        .map((line) => line['worker']),
    )
  let sent = 0
  await eventually(
    'both workers serving the JWKS',
    async () => {
      for (let i = 0; i < 5; i++) {
        t.equal(await getOnNewConnection(`${server.url}${ROUTE}`), 200)
        sent++
      }
      // The access-log lines name the worker (its log binding).
      return servedBy().size === 2 ? true : undefined
    },
    60_000,
    50,
  )
  t.ok(sent <= 400, `${sent} requests until both workers had served some`)
  // A request is counted just after its response is sent: the last ones may need a moment.
  const counted = (metrics: Awaited<ReturnType<typeof scrape>>) =>
    histogram(metrics, 'tessera_http_request_duration_seconds', { route: ROUTE, method: 'GET', status: '200' })?.count
  const metrics = await eventually(`all ${sent} requests counted`, async () => {
    const scraped = await scrape(metricsUrl)
    if (counted(scraped) !== sent) throw new Error(`the scrape counts ${String(counted(scraped))}`)
    return scraped
  })
  t.equal(counted(metrics), sent, `all ${sent} requests counted, served by workers ${[...servedBy()].join(' and ')}`)
  t.equal(sample(metrics, 'tessera_processes', { role: 'worker' }), 2, 'both workers answered the primary')
  t.equal(sample(metrics, 'tessera_processes', { role: 'primary' }), 1)
  t.equal(sample(metrics, 'tessera_signing_keys', { state: 'active' }), 1, 'shared figures once, not once per process')
  t.ok((sample(metrics, 'process_resident_memory_bytes') ?? 0) > 0, 'process figures added up')
  if (postgres) t.ok((sample(metrics, 'tessera_db_pool_connections', { state: 'idle' }) ?? -1) >= 0, "every process's pool, added up")

  t.equal((await fetch(`${server.url}/metrics`)).status, 404, 'not on the server port')
  t.same(
    listeningSockets(server.child.process.pid!)
      .map((socket) => socket.port)
      .sort(),
    [port, metricsPort].sort(),
    'the primary holds the server port (node:cluster hands out its connections) and the metrics port',
  )
  await stopServer(server)
})
