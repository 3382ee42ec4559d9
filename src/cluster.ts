/**
 * WORKERS > 1: the primary process prepares the database (migrations, first signing key), prunes
 * expired rows, and supervises one server process per worker; the workers share the listening
 * port through node:cluster. SQLite in WAL mode with a busy timeout is shared safely by several
 * processes on one machine; PostgreSQL needs nothing special.
 */
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { Config } from './config/config.js'
import { closeDeps, createDeps } from './deps.js'
import { startPruning } from './maintenance.js'
import { announceMailTransport } from './mail/create.js'
import type { Metrics } from './metrics/metrics.js'

/** A worker dying this soon after starting counts towards a crash loop. */
const EARLY_EXIT_MS = 10_000
/** Crash-loop guard: this many early exits in a row stop the whole server. */
const MAX_EARLY_EXITS = 5
const RESTART_DELAY_MS = 1_000
const SHUTDOWN_DEADLINE_MS = 25_000

export async function runPrimary(config: Config, log: Logger, metrics?: Metrics): Promise<void> {
  // Migrations and the first key are made once here, before any worker races for them.
  const deps = await createDeps(config, { log, metrics })
  announceMailTransport(deps.mail, log)
  const stopPruning = startPruning(deps)
  // The expiry sweep above stores logout jobs here; the workers' outboxes would find them at their
  // next poll, this one runs them at once.
  deps.outbox.start()
  const started = new Map<number, number>()
  let closing = false
  let earlyExits = 0
  let listening = 0

  const fork = (): Worker => {
    const worker = cluster.fork()
    started.set(worker.id, Date.now())
    return worker
  }

  cluster.on('listening', () => {
    listening++
    if (listening === config.workers) {
      log.info(
        { issuer: config.issuer, workers: config.workers, discovery: config.discoveryUrl },
        `Tessera is running at ${config.issuer} with ${config.workers} workers.`,
      )
    }
  })

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? 0)
    started.delete(worker.id)
    if (closing) return
    log.error({ event: 'worker_exit', pid: worker.process.pid, code, signal }, 'a worker stopped unexpectedly; starting a replacement')
    earlyExits = lived < EARLY_EXIT_MS ? earlyExits + 1 : 0
    if (earlyExits >= MAX_EARLY_EXITS) {
      log.fatal({ event: 'crash_loop' }, `workers keep failing right after start (${MAX_EARLY_EXITS} times); stopping`)
      void shutdown('crash loop', 1)
      return
    }
    setTimeout(() => {
      if (!closing) fork()
    }, RESTART_DELAY_MS).unref()
  })

  const shutdown = async (reason: string, exitCode: number) => {
    if (closing) return
    closing = true
    log.info({ reason }, 'shutting down: stopping workers (each finishes its requests in flight)')
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref()
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined)
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve()
            worker.once('exit', () => resolve())
            worker.process.kill('SIGTERM')
          }),
      ),
    )
    stopPruning()
    await closeDeps(deps)
    log.info('stopped')
    process.exit(exitCode)
  }
  process.on('SIGINT', () => void shutdown('SIGINT', 0))
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0))

  for (let i = 0; i < config.workers; i++) fork()
}
