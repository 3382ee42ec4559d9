/**
 * Helpers of the operations suites (not a test file): the real server from a private copy of the
 * build, /metrics scraped and read with a real Prometheus text-format parser, the TCP ports a
 * process listens on (from /proc), a small OTLP/HTTP receiver, the server's JSON log lines, and
 * the list of packages a server process had loaded when it exited.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { getMetricsFromIterator, type PromHistogramData, type PromLabels, type PromMetrics } from 'prom2javascript'
import { freePort } from '../helpers/free-port.js'
import { Child, runToCompletion, scratchDir, snapshotBuild, startChild, type Teardown } from '../helpers/processes.js'

// --- The server ---------------------------------------------------------------------------------

export interface Server {
  readonly child: Child
  readonly port: number
  readonly url: string
  readonly dir: string
  readonly env: Record<string, string>
  /** The packages (node_modules/<name>) loaded when it exited: written by loaded-modules.mjs. */
  loadedPackages(): string[]
}

const LOADED_MODULES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/loaded-modules.mjs')

/** Two ports free a moment ago, different from each other. */
export async function twoPorts(): Promise<[number, number]> {
  const first = await freePort()
  for (;;) {
    const second = await freePort()
    if (second !== first) return [first, second]
  }
}

/**
 * `node dist/src/main.js` (a private copy of the build) in a scratch directory with only PATH and
 * the given environment, plus the installation's own PORT, HOST, ISSUER, KEYS_DIR and (unless
 * given) an SQLite DATABASE_URL. Does not wait for it.
 */
export async function startServer(t: Teardown, env: Record<string, string>, port?: number): Promise<Server> {
  const { main } = await snapshotBuild()
  const dir = scratchDir('tessera-operations-')
  const listen = port ?? (await freePort())
  const loaded = path.join(dir, 'loaded-modules.json')
  const fullEnv = {
    PORT: String(listen),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${listen}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`,
    KEYS_DIR: path.join(dir, 'keys'),
    LOADED_MODULES_FILE: loaded,
    ...env,
  }
  const child = startChild(t, 'tessera', process.execPath, ['--import', LOADED_MODULES, main], {
    cwd: dir,
    env: fullEnv,
    inheritEnv: false,
  })
  return {
    child,
    port: listen,
    url: `http://127.0.0.1:${listen}`,
    dir,
    env: fullEnv,
    loadedPackages: () => (JSON.parse(fs.readFileSync(loaded, 'utf8')) as { packages: string[] }).packages,
  }
}

/** Polls /healthz until it answers 200; fails early, with the output, when the process exits. */
export async function waitHealthy(server: Server, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (server.child.exitStatus)
      throw new Error(
        `server exited ${JSON.stringify(server.child.exitStatus)}\nstderr: ${server.child.stderr}\nstdout: ${server.child.stdout.slice(-3000)}`,
      )
    try {
      const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`server not healthy after ${ms} ms\nstderr: ${server.child.stderr}\nstdout: ${server.child.stdout.slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** SIGTERM and wait for the exit (the loaded-modules list is written then). */
export async function stopServer(server: Server): Promise<void> {
  server.child.process.kill('SIGTERM')
  await server.child.exited(30_000)
}

/** `idp … --json` from the same build copy and environment; the JSON of its last stdout line. */
export async function idp(t: Teardown, server: Server, args: readonly string[], stdin = ''): Promise<Record<string, unknown>> {
  const { bin } = await snapshotBuild()
  const { exit, stdout, stderr } = await runToCompletion(
    t,
    `idp ${args.slice(0, 2).join(' ')}`,
    process.execPath,
    [bin, ...args, '--json'],
    {
      cwd: server.dir,
      env: server.env,
      inheritEnv: false,
      stdin,
      timeoutMs: 60_000,
    },
  )
  if (exit.code !== 0) throw new Error(`idp ${args.join(' ')} exited ${JSON.stringify(exit)}\nstderr: ${stderr}\nstdout: ${stdout}`)
  return JSON.parse(stdout.trimEnd().split('\n').pop()!) as Record<string, unknown>
}

/** The JSON log lines written so far. */
export function logLines(child: Child): Record<string, unknown>[] {
  return child.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return [] // a line still being written
      }
    })
}

/** A GET on a new connection (closed after it): in a cluster, each may reach another worker. */
export function getOnNewConnection(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { connection: 'close', ...headers }, timeout: 10_000 }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)))
    request.on('error', reject)
  })
}

// --- Metrics -------------------------------------------------------------------------------------

/** GET /metrics and parse it (prom2javascript: a Prometheus text-format parser). */
export async function scrape(url: string): Promise<PromMetrics> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 300)}`)
  if (!(response.headers.get('content-type') ?? '').startsWith('text/plain'))
    throw new Error(`not the text format: ${response.headers.get('content-type')}`)
  return parseMetrics(text)
}

/** The Prometheus text format, parsed. */
export function parseMetrics(text: string): Promise<PromMetrics> {
  // The parser does not read NaN (prom-client writes `Nan`), a valid value: an event-loop
  // statistic before its first sample.
  const lines = text.split('\n').filter((line) => !/ nan$/i.test(line))
  return getMetricsFromIterator(lines[Symbol.iterator]())
}

const matches = (labels: PromLabels, wanted: PromLabels) => Object.entries(wanted).every(([name, value]) => labels[name] === value)

/** The value of the one counter or gauge series with these labels (undefined: no such series). */
export function sample(metrics: PromMetrics, name: string, labels: PromLabels = {}): number | undefined {
  const found = (metrics[name]?.data ?? []).filter((data) => matches(data.labels, labels))
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series match`)
  return (found[0] as { value?: number } | undefined)?.value
}

/** The histogram series with exactly these labels. */
export function histogram(metrics: PromMetrics, name: string, labels: PromLabels): PromHistogramData | undefined {
  const series = (metrics[name]?.data ?? []) as PromHistogramData[]
  return series.find((data) => matches(data.labels, labels) && Object.keys(data.labels).length === Object.keys(labels).length)
}

/** Every label value of a metric's series for one label name. */
export function labelValues(metrics: PromMetrics, name: string, label: string): string[] {
  return (metrics[name]?.data ?? []).map((data) => data.labels[label]).filter((value): value is string => value !== undefined)
}

// --- Sockets -------------------------------------------------------------------------------------

/** The TCP sockets a process listens on (Linux: its fds and /proc/net/tcp{,6}). */
export function listeningSockets(pid: number): { address: string; port: number }[] {
  const inodes = new Set<string>()
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
      const match = /^socket:\[(\d+)\]$/.exec(target)
      if (match) inodes.add(match[1]!)
    } catch {
      // closed meanwhile
    }
  }
  const sockets: { address: string; port: number }[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue
    for (const line of fs.readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const [local, state, inode] = [fields[1]!, fields[3]!, fields[9]!]
      if (state !== '0A' || !inodes.has(inode)) continue // 0A: LISTEN
      const [hexAddress, hexPort] = local.split(':') as [string, string]
      sockets.push({ address: hexAddress.length === 8 ? ipv4(hexAddress) : `ipv6:${hexAddress}`, port: parseInt(hexPort, 16) })
    }
  }
  return sockets
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit hex number. */
const ipv4 = (hex: string) => [6, 4, 2, 0].map((at) => parseInt(hex.slice(at, at + 2), 16)).join('.')

// --- An OTLP/HTTP receiver ---------------------------------------------------------------------

export interface ReceivedSpan {
  readonly traceId: string
  readonly name: string
  readonly scope: string
  readonly attributes: Readonly<Record<string, unknown>>
  readonly resource: Readonly<Record<string, unknown>>
}

export interface OtlpReceiver {
  readonly url: string
  /** Every request body received, as sent. */
  readonly bodies: string[]
  /** The paths posted to. */
  readonly paths: string[]
  spans(): ReceivedSpan[]
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
type OtlpAttribute = { key: string; value: OtlpValue }

const attributes = (list: readonly OtlpAttribute[] | undefined) =>
  Object.fromEntries(
    (list ?? []).map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue]),
  )

/** Accepts OTLP/HTTP JSON trace exports (POST …/v1/traces) on a loopback port. */
export async function startOtlpReceiver(t: Teardown): Promise<OtlpReceiver> {
  const bodies: string[] = []
  const paths: string[] = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      bodies.push(body)
      paths.push(request.url ?? '')
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    paths,
    spans() {
      const spans: ReceivedSpan[] = []
      for (const body of bodies) {
        const parsed = JSON.parse(body) as {
          resourceSpans?: {
            resource?: { attributes?: OtlpAttribute[] }
            scopeSpans?: { scope?: { name?: string }; spans?: { traceId: string; name: string; attributes?: OtlpAttribute[] }[] }[]
          }[]
        }
        for (const resourceSpans of parsed.resourceSpans ?? []) {
          const resource = attributes(resourceSpans.resource?.attributes)
          for (const scopeSpans of resourceSpans.scopeSpans ?? [])
            for (const span of scopeSpans.spans ?? [])
              spans.push({
                traceId: span.traceId,
                name: span.name,
                scope: scopeSpans.scope?.name ?? '',
                attributes: attributes(span.attributes),
                resource,
              })
        }
      }
      return spans
    },
  }
}
