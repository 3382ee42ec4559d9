/**
 * Metrics of a cluster (WORKERS > 1): the primary serves /metrics and adds up its own figures and
 * every worker's, which each worker sends when asked over the cluster's IPC channel — prom-client's
 * aggregation (counters and histograms summed, each gauge by its own rule). A worker that does not
 * answer in time is left out of that scrape; `tessera_processes{role="worker"}` shows how many did.
 */
import cluster from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import type { Metrics, MetricsSnapshot } from './metrics.js'

const REQUEST = 'tessera:metrics-request'
const REPLY = 'tessera:metrics-reply'
const WORKER_TIMEOUT_MS = 3_000

interface Reply {
  readonly type: typeof REPLY
  readonly id: number
  readonly figures?: MetricsSnapshot
  readonly error?: string
}

const isMessage = (message: unknown, type: string): message is { type: string; id: number } =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type

/** In a worker: answers the primary's requests with this process's figures. */
export function answerMetricsRequests(metrics: Metrics): void {
  process.on('message', (message: unknown) => {
    if (!isMessage(message, REQUEST)) return
    const send = (reply: Reply) => process.send?.(reply)
    metrics.snapshot().then(
      (figures) => send({ type: REPLY, id: message.id, figures }),
      (error: unknown) => send({ type: REPLY, id: message.id, error: error instanceof Error ? error.message : String(error) }),
    )
  })
}

/** In the primary: a function that renders the whole cluster's figures in the Prometheus text format. */
export function clusterMetrics(metrics: Metrics): () => Promise<string> {
  let nextId = 0
  const waiting = new Map<number, (reply: Reply) => void>()
  cluster.on('message', (_worker, message: unknown) => {
    if (isMessage(message, REPLY)) waiting.get(message.id)?.(message as Reply)
  })

  const ask = (worker: NonNullable<typeof cluster.workers>[string]) =>
    new Promise<MetricsSnapshot | undefined>((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => finish(undefined), WORKER_TIMEOUT_MS)
      const finish = (figures: MetricsSnapshot | undefined) => {
        clearTimeout(timer)
        waiting.delete(id)
        resolve(figures)
      }
      waiting.set(id, (reply) => finish(reply.figures))
      try {
        worker!.send({ type: REQUEST, id })
      } catch {
        finish(undefined)
      }
    })

  return async () => {
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined && worker.isConnected())
    const figures = await Promise.all([metrics.snapshot(), ...workers.map(ask)])
    return AggregatorRegistry.aggregate(figures.filter((each): each is MetricsSnapshot => each !== undefined)).metrics()
  }
}
