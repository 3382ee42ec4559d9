// A private PostgreSQL server for the benchmark, as CI runs one: initdb into the work directory, a
// free port on 127.0.0.1 only (trust authentication there), the socket inside the work directory.
// Durability settings stay at their defaults (fsync on, synchronous_commit on): the rows measure
// what a production server would pay for each commit. BENCH_POSTGRES_URL points at a running
// server instead (each database is then created, and dropped at the end, on it).
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { treeCpuSeconds } from './cpu.mjs'
import { freePort } from './process.mjs'

const run = promisify(execFile)
const PG_ROOT = '/usr/lib/postgresql'
/** Only the connections a benchmark needs: two instances with a pool of 10 each, the CLI, this process. */
const SETTINGS = {
  listen_addresses: "'127.0.0.1'",
  shared_buffers: "'256MB'",
  max_connections: '200',
  // The default log goes to the file given to pg_ctl; connections are not logged.
  logging_collector: 'off',
}
const READY_TIMEOUT_MS = 60_000

/** The bin directory of the highest PostgreSQL version installed under /usr/lib/postgresql. */
function binDir() {
  const versions = fs
    .readdirSync(PG_ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(PG_ROOT, entry.name, 'bin/initdb')))
    .map((entry) => entry.name)
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${PG_ROOT}`)
  return path.join(PG_ROOT, versions[0], 'bin')
}

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`

async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** A server URL with `database` as its path. */
function withDatabase(url, database) {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** Creates `name` on the server at `serverUrl` (a role that may create databases); its URL. */
export async function createDatabase(serverUrl, name) {
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`))
  return withDatabase(serverUrl, name)
}

/** Drops `name` from the server at `serverUrl`, closing its connections. */
export async function dropDatabase(serverUrl, name) {
  await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`))
}

/** Databases on a server somebody else runs (BENCH_POSTGRES_URL): created now, dropped by stop(). */
async function externalServer(url) {
  const created = []
  const version = await withClient(url, async (client) => (await client.query('SHOW server_version')).rows[0].server_version)
  return {
    version,
    external: true,
    adminUrl: url,
    async createDatabase(name) {
      const database = `${name}_${process.pid}_${Date.now().toString(36)}`
      created.push(database)
      return createDatabase(url, database)
    },
    async stop() {
      for (const database of created.splice(0)) await dropDatabase(url, database)
    },
  }
}

export async function startPostgres({ workDir }) {
  if (process.env.BENCH_POSTGRES_URL) return externalServer(process.env.BENCH_POSTGRES_URL)

  const bin = binDir()
  const asRoot = process.getuid?.() === 0
  // The server refuses to run as root: it runs as `postgres`, which must reach and own its files.
  // workDir (made by the benchmark, mode 0700) opens for traversal; should a directory above it
  // stay closed to other users, the files go to a directory of their own under the system tmpdir.
  const closed = (dir) => (fs.statSync(dir).mode & 0o001) === 0
  const above = []
  for (let dir = path.dirname(path.resolve(workDir)); dir !== path.dirname(dir); dir = path.dirname(dir)) above.push(dir)
  const root =
    asRoot && above.some(closed) ? fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-postgres-')) : path.join(workDir, 'postgres')
  const dataDir = path.join(root, 'data')
  const socketDir = path.join(root, 'socket')
  const logFile = path.join(root, 'server.log')
  fs.mkdirSync(socketDir, { recursive: true })
  if (asRoot) {
    const id = async (flag) => Number((await run('id', [flag, 'postgres'])).stdout)
    const [uid, gid] = [await id('-u'), await id('-g')]
    if (closed(path.dirname(root))) fs.chmodSync(path.dirname(root), fs.statSync(path.dirname(root)).mode | 0o001)
    for (const entry of [root, socketDir]) fs.chownSync(entry, uid, gid)
  }
  /** A PostgreSQL program, as `postgres` when this process is root. */
  const pgRun = (program, args) => {
    const file = path.join(bin, program)
    return asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: root }) : run(file, args, { cwd: root })
  }

  const port = await freePort()
  await pgRun('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'])
  const settings = { ...SETTINGS, port: String(port), unix_socket_directories: `'${socketDir}'` }
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\n# tessera benchmark\n${Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
  )
  // -W: pg_ctl returns at once; readiness is pg_isready's answer below.
  await pgRun('pg_ctl', ['start', '-W', '-D', dataDir, '-l', logFile])
  let running = true
  const stopNow = () => {
    if (!running) return
    running = false
    const file = path.join(bin, 'pg_ctl')
    const args = ['stop', '-D', dataDir, '-m', 'immediate']
    spawnSync(asRoot ? 'runuser' : file, asRoot ? ['-u', 'postgres', '--', file, ...args] : args, { cwd: root, stdio: 'ignore' })
    fs.rmSync(root, { recursive: true, force: true })
  }
  // An exit without stop() (an uncaught error) must not leave a server behind.
  process.once('exit', stopNow)

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const ready = await pgRun('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']).then(
      () => true,
      () => false,
    )
    if (ready) break
    if (Date.now() > deadline) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : ''
      stopNow()
      throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms: ${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const serverUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const version = await withClient(serverUrl, async (client) => (await client.query('SHOW server_version')).rows[0].server_version)
  return {
    version,
    external: false,
    /** A superuser's URL (trust on 127.0.0.1): for the parts that create their own databases. */
    adminUrl: serverUrl,
    /** CPU seconds (user + system) used so far by the server: the postmaster and its backends. */
    cpuSeconds: () => treeCpuSeconds([postmaster]),
    createDatabase: (name) => createDatabase(serverUrl, name),
    async stop() {
      if (!running) return
      running = false
      process.removeListener('exit', stopNow)
      try {
        await pgRun('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w'])
      } finally {
        fs.rmSync(root, { recursive: true, force: true })
      }
    },
  }
}
