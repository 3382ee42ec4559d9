/**
 * What each process does with its metrics (main.ts loads this module only when METRICS_PORT is
 * set): a single server and a cluster's primary listen for scrapes on METRICS_HOST:METRICS_PORT —
 * the primary answering with the sum of its workers' figures and its own — and a worker answers the
 * primary's requests for its figures.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { answerMetricsRequests, clusterMetrics } from './cluster.js'
import { createMetrics, type Metrics, type ProcessRole } from './metrics.js'
import { listenForScrapes } from './server.js'

export async function startMetrics(config: Pick<Config, 'metricsHost' | 'metricsPort'>, role: ProcessRole, log: Logger): Promise<Metrics> {
  const metrics = createMetrics(role)
  if (role === 'worker') {
    answerMetricsRequests(metrics)
    return metrics
  }
  if (config.metricsPort === null) throw new TypeError('startMetrics needs METRICS_PORT')
  await listenForScrapes({
    host: config.metricsHost,
    port: config.metricsPort,
    contentType: metrics.contentType,
    render: role === 'primary' ? clusterMetrics(metrics) : () => metrics.text(),
    log,
  })
  return metrics
}
