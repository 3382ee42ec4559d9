/**
 * The process shell: load config → create dependencies → build the app → listen; on SIGINT or
 * SIGTERM stop accepting, finish in-flight requests, close the database. With WORKERS > 1 this
 * process becomes the cluster primary (cluster.ts) and each worker runs the server below.
 */
// First: with OTEL_EXPORTER_OTLP_ENDPOINT set, tracing must start before fastify and pg load.
import { tracing } from './tracing/preload.js'
import cluster from 'node:cluster'
import type { Logger } from 'pino'
import { loadConfig, obsoleteVariableWarnings, ConfigError, type Config } from './config/config.js'
import type { Metrics } from './metrics/metrics.js'
import { closeDeps, createDeps } from './deps.js'
import { buildApp } from './app.js'
import { runPrimary } from './cluster.js'
import { createLogger } from './logger.js'
import { startPruning } from './maintenance.js'
import { announceMailTransport } from './mail/create.js'
import { nextSteps } from './next-steps.js'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tessera: invalid configuration: ${error.problems.join('; ')}\n`)
      process.exit(2)
    }
    throw error
  }
  const log = createLogger(config, undefined, { terminal: process.stdout.isTTY === true })
  if (cluster.isPrimary) for (const warning of obsoleteVariableWarnings(process.env)) log.warn({ event: 'obsolete_setting' }, warning)
  const role = cluster.isWorker ? 'worker' : config.workers > 1 ? 'primary' : 'single'
  // METRICS_PORT off: prom-client is not even loaded, and no hook is installed anywhere.
  const metrics = config.metricsPort === null ? undefined : await (await import('./metrics/process.js')).startMetrics(config, role, log)
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, log, metrics)
  return runServer(config, cluster.isWorker ? log.child({ worker: cluster.worker?.id }) : log, metrics)
}

async function runServer(config: Config, log: Logger, metrics: Metrics | undefined): Promise<void> {
  const deps = await createDeps(config, { log, metrics, tracing })
  // In a cluster the primary announces the start, warns once and prunes.
  const single = !cluster.isWorker
  if (single) announceMailTransport(deps.mail, log)
  // Started now (not awaited: the hasher runs at background priority and a loaded machine would
  // delay the start) so that it is ready before an unknown email's first login needs it.
  deps
    .dummyHash()
    .catch((error: unknown) =>
      log.warn({ event: 'dummy_hash_failed', reason: String(error) }, 'could not prepare the dummy password hash yet'),
    )
  const app = await buildApp(deps)
  deps.keys.start(config.keyRefreshInterval)
  // Every serving process runs the outbox worker: it delivers what its own requests store at once,
  // and shares the rest with the other instances (claims are per row).
  deps.outbox.start()
  // Every serving process checkpoints SQLite from a thread of its own, off the request path.
  await deps.store.startBackgroundCheckpoints(log)
  const stopPruning = single ? startPruning(deps) : () => undefined
  await app.listen({ port: config.port, host: config.host })
  if (single) log.info({ issuer: config.issuer, discovery: config.discoveryUrl }, nextSteps(config.issuer))

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight')
    // Requests get 15 s to finish; then their connections are cut so the database still closes
    // cleanly. A hard deadline covers anything that hangs even so.
    setTimeout(() => {
      log.warn({ event: 'shutdown_timeout' }, 'requests still running after 15 s; closing their connections')
      app.server.closeAllConnections()
    }, 15_000).unref()
    setTimeout(() => process.exit(1), 25_000).unref()
    stopPruning()
    // Fastify answers 503 to requests arriving while it closes, and waits for those in flight.
    await app.close()
    await closeDeps(deps)
    // The spans still buffered go to the collector (5 s at most).
    await tracing?.shutdown()
    log.info('stopped')
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

main().catch((error: unknown) => {
  process.stderr.write(`tessera: failed to start: ${error instanceof Error ? error.message : String(error)}\n`)
  if (error instanceof Error && error.cause instanceof Error) process.stderr.write(`  cause: ${error.cause.message}\n`)
  process.exit(1)
})
