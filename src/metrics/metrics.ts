/**
 * Prometheus metrics with prom-client, made only when METRICS_PORT is set: main.ts imports this
 * module then, and without it no hook is installed anywhere. One registry per process, passed
 * down explicitly (prom-client's global registry is never used). Recording is cheap: a request is
 * one lookup in its route's small map and one histogram observation; figures read from elsewhere
 * (queues, pool, keys, outbox) are read only when Prometheus scrapes.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import type { Logger } from 'pino'
import type { SecurityEventType } from '../audit.js'
import type { Clock } from '../clock.js'
import type { PasswordHasher } from '../accounts/password-hasher.js'
import type { PoolUse, QueryKind, QueryObserver } from '../db/connect.js'
import type { KeyRecord } from '../model/signing-key.js'
import { GRANT_TYPES, type GrantType } from '../model/client.js'

/** `single` (WORKERS=1), or the primary or a worker of a cluster. */
export type ProcessRole = 'single' | 'primary' | 'worker'

/** The requests of one route pattern (or of no route: 404s). */
export interface RouteMetrics {
  observe(method: string, status: number, seconds: number): void
}

/** What is read at scrape time. */
export interface MetricSources {
  readonly hasher: Pick<PasswordHasher, 'load'>
  /** The PostgreSQL pool (none on SQLite). */
  readonly pool: (() => PoolUse) | undefined
  /** The key store and the outbox table are shared: read by the process that serves /metrics only. */
  readonly keys: { list(): Promise<readonly KeyRecord[]> }
  readonly outbox: { backlog(now: number): Promise<readonly { readonly kind: string; readonly pending: number; readonly due: number }[]> }
  readonly clock: Clock
  readonly log: Logger
}

export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[]

export interface Metrics {
  readonly role: ProcessRole
  readonly contentType: string
  /** The recorder of one route pattern (`/authorize`, `/clients/:id`), never of a raw URL. */
  route(pattern: string): RouteMetrics
  /** Requests no route matched. */
  readonly unmatched: RouteMetrics
  tokenIssued(grantType: GrantType): void
  /** Every security event by type; logins also by result and kind. */
  securityEvent(type: SecurityEventType): void
  readonly query: QueryObserver
  /** Starts reading the queues, the pool and (outside workers) the keys and the outbox at scrape time. Once. */
  watch(sources: MetricSources): void
  /** This process's figures in the Prometheus text format. */
  text(): Promise<string>
  /** This process's figures as prom-client JSON, for the cluster primary to add up. */
  snapshot(): Promise<MetricsSnapshot>
}

/** Seconds: from a cached discovery document to a slow login. */
const HTTP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
/** Methods get a small index so a series is found by one number; anything else is OTHER. */
const METHODS = ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE'] as const
const LOGINS: Partial<Record<SecurityEventType, readonly [result: string, kind: string]>> = {
  login_success: ['success', 'local'],
  login_failure: ['failure', 'local'],
  federated_login: ['success', 'federated'],
  federated_login_failure: ['failure', 'federated'],
}

class RouteSeries implements RouteMetrics {
  readonly #children = new Map<number, Histogram.Internal<'route' | 'method' | 'status'>>()

  constructor(
    private readonly histogram: Histogram<'route' | 'method' | 'status'>,
    private readonly route: string,
  ) {}

  observe(method: string, status: number, seconds: number): void {
    const index = (METHODS as readonly string[]).indexOf(method)
    const key = status * 8 + (index < 0 ? 7 : index)
    let child = this.#children.get(key)
    if (child === undefined) {
      child = this.histogram.labels(this.route, index < 0 ? 'OTHER' : method, String(status))
      this.#children.set(key, child)
    }
    child.observe(seconds)
  }
}

/** A labelled metric's children, made once per label values. */
function cached<Child>(make: (...values: string[]) => Child): (...values: string[]) => Child {
  const children = new Map<string, Child>()
  return (...values) => {
    const key = values.join('\u0000')
    let child = children.get(key)
    if (child === undefined) {
      child = make(...values)
      children.set(key, child)
    }
    return child
  }
}

export function createMetrics(role: ProcessRole): Metrics {
  const registry = new Registry()
  const registers = [registry]
  // Process CPU and memory, heap, handles, GC and the event-loop delay (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry })
  new Gauge({
    name: 'tessera_processes',
    help: 'Processes reporting these figures, by role (single, primary, worker); summed over a cluster',
    labelNames: ['role'] as const,
    registers,
  }).set({ role }, 1)

  const requests = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status: latency (the _count series counts requests)',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  })
  const routes = new Map<string, RouteSeries>()

  const tokens = new Counter({
    name: 'tessera_tokens_issued_total',
    help: 'Successful token endpoint responses by grant type',
    labelNames: ['grant_type'] as const,
    registers,
  })
  const token = cached((grant) => tokens.labels(grant))
  for (const grant of GRANT_TYPES) token(grant).inc(0)

  const events = new Counter({
    name: 'tessera_security_events_total',
    help: 'Security events (the audit log) by type: login_failure, throttled, code_reuse, refresh_reuse…',
    labelNames: ['type'] as const,
    registers,
  })
  const event = cached((type) => events.labels(type))
  for (const type of ['login_failure', 'throttled', 'client_auth_failure', 'code_reuse', 'refresh_reuse'] as const) event(type).inc(0)
  const logins = new Counter({
    name: 'tessera_logins_total',
    help: 'Sign-ins by result (success, failure) and kind (local: password or passkey; federated: an upstream identity provider)',
    labelNames: ['result', 'kind'] as const,
    registers,
  })
  const login = cached((result, kind) => logins.labels(result, kind))
  for (const labels of Object.values(LOGINS)) login(...labels).inc(0)

  const queries = new Histogram({
    name: 'tessera_db_query_duration_seconds',
    help: 'Database statements by operation (select, insert, update, delete, other) and outcome (ok, error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: QUERY_BUCKETS,
    registers,
  })
  const queryChild = cached((operation, outcome) => queries.labels(operation, outcome))
  const ok = new Map<QueryKind, Histogram.Internal<'operation' | 'outcome'>>()
  const query: QueryObserver = (kind, seconds, failed) => {
    if (failed) return queryChild(kind, 'error').observe(seconds)
    let child = ok.get(kind)
    if (child === undefined) {
      child = queryChild(kind, 'ok')
      ok.set(kind, child)
    }
    child.observe(seconds)
  }

  let watching = false
  return {
    role,
    contentType: registry.contentType,
    route(pattern) {
      let series = routes.get(pattern)
      if (series === undefined) {
        series = new RouteSeries(requests, pattern)
        routes.set(pattern, series)
      }
      return series
    },
    unmatched: new RouteSeries(requests, '(unmatched)'),
    tokenIssued: (grantType) => token(grantType).inc(),
    securityEvent(type) {
      event(type).inc()
      const labels = LOGINS[type]
      if (labels !== undefined) login(...labels).inc()
    },
    query,
    watch(sources) {
      if (watching) throw new TypeError('metrics are already watching a set of dependencies')
      watching = true
      watchProcess(registers, sources)
      // The database is shared: one process reads it, or a cluster would report it once per worker.
      if (role !== 'worker') watchDatabase(registers, sources)
    },
    text: () => registry.metrics(),
    snapshot: () => registry.getMetricsAsJSON(),
  }
}

/** Figures of this process: the password hasher and the connection pool. */
function watchProcess(registers: Registry[], sources: MetricSources): void {
  new Gauge({
    name: 'tessera_password_hashes',
    help: 'Password hashes (argon2id) running and waiting for a slot in this process',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const load = sources.hasher.load?.()
      if (load === undefined) return
      this.set({ state: 'running' }, load.running)
      this.set({ state: 'waiting' }, load.waiting)
    },
  })
  const { pool } = sources
  // SQLite has one connection and no pool: no such figures at all.
  if (pool === undefined) return
  new Gauge({
    name: 'tessera_db_pool_connections',
    help: 'PostgreSQL pool connections by state (in_use, idle)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const use = pool()
      this.set({ state: 'in_use' }, use.open - use.idle)
      this.set({ state: 'idle' }, use.idle)
    },
  })
  new Gauge({
    name: 'tessera_db_pool_waiting_queries',
    help: 'Queries waiting for a PostgreSQL pool connection (every connection busy)',
    registers,
    collect() {
      this.set(pool().waiting)
    },
  })
}

/**
 * One read shared by the gauges a scrape collects together (prom-client calls every collect at
 * once): the first starts it, the others wait for the same answer.
 */
function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined
  return () =>
    (inFlight ??= read().finally(() => {
      inFlight = undefined
    }))
}

/** Figures of the shared database, read at scrape time; a database that does not answer leaves them out. */
function watchDatabase(registers: Registry[], sources: MetricSources): void {
  const failed = (what: string) => (error: unknown) => {
    sources.log.debug({ event: 'metrics_read_failed', what, reason: error instanceof Error ? error.message : String(error) })
    return undefined
  }
  const backlog = sharedRead(() => sources.outbox.backlog(sources.clock.now()).catch(failed('outbox')))
  const outboxGauge = (name: string, help: string, value: (row: { pending: number; due: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['kind'] as const,
      aggregator: 'max',
      registers,
      async collect() {
        this.reset()
        for (const row of (await backlog()) ?? []) this.set({ kind: row.kind }, value(row))
      },
    })
  outboxGauge(
    'tessera_outbox_pending_jobs',
    'Durable outbox jobs not finished yet (neither delivered nor given up), by kind',
    (row) => row.pending,
  )
  outboxGauge(
    'tessera_outbox_due_jobs',
    'Durable outbox jobs whose time has come (waiting for a worker or running), by kind',
    (row) => row.due,
  )

  const keys = sharedRead(async () => {
    const list = await sources.keys.list().catch(failed('signing keys'))
    return list === undefined ? undefined : { list, now: sources.clock.now() }
  })
  new Gauge({
    name: 'tessera_signing_keys',
    help: 'Signing keys in the key store by state (next, active, retired, revoked, archived)',
    labelNames: ['state'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      this.reset()
      const read = await keys()
      if (read === undefined) return
      for (const state of ['next', 'active', 'retired'] as const) this.set({ state }, 0)
      for (const key of read.list) this.inc({ state: key.state })
    },
  })
  new Gauge({
    name: 'tessera_active_signing_key_seconds',
    help: 'How long the active signing key has been signing',
    aggregator: 'max',
    registers,
    async collect() {
      this.reset()
      const read = await keys()
      const key = read?.list.find((candidate) => candidate.state === 'active')
      if (read !== undefined && key !== undefined) this.set(read.now - (key.activatedAt ?? key.createdAt))
    },
  })
  new Gauge({
    name: 'tessera_signing_key_age_seconds',
    help: 'Age of each signing key (since it was made), by kid and state',
    labelNames: ['kid', 'state'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      this.reset()
      const read = await keys()
      for (const key of read?.list ?? []) this.set({ kid: key.kid, state: key.state }, read!.now - key.createdAt)
    },
  })
}
