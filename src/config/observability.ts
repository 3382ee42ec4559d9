/**
 * The switches of metrics and tracing: METRICS_PORT, METRICS_HOST and OTEL_EXPORTER_OTLP_ENDPOINT.
 * Parsed as configuration fields (config.ts); tracing's switch is also read before the
 * configuration is loaded (tracing/preload.ts), since tracing must start before fastify and pg load.
 */
import { isIP } from 'node:net'
import { FieldProblem } from './fields.js'

/** METRICS_PORT: `off` (the default) or a port of its own, never the server's PORT. */
export function parseMetricsPort(raw: string | undefined, serverPort: unknown): number | null {
  const value = (raw ?? '').trim().toLowerCase()
  if (value === '' || value === 'off') return null
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535)
    throw new FieldProblem(`"${raw}" is not a port number from 1 to 65535, or off`)
  // /metrics is never served to the public side: a listener of its own.
  if (Number(value) === serverPort) throw new FieldProblem('must differ from PORT (the metrics have a listener of their own)')
  return Number(value)
}

/** METRICS_HOST: an address to bind to (an IP literal, or localhost). */
export function parseMetricsHost(raw: string | undefined): string {
  const value = (raw ?? '').trim()
  if (value === '') return '127.0.0.1'
  if (value !== 'localhost' && isIP(value) === 0)
    throw new FieldProblem(`"${raw}" is not an IP address to bind to (e.g. 127.0.0.1, ::1, 0.0.0.0)`)
  return value
}

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT: the OTLP/HTTP collector's base URL. The value is never echoed in a
 * problem: collectors' URLs may carry credentials.
 */
export function parseOtlpEndpoint(raw: string | undefined): string | null {
  const value = (raw ?? '').trim()
  if (value === '') return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new FieldProblem('is not an absolute URL (e.g. http://otel-collector:4318)')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FieldProblem('must be an http(s) URL (OTLP over HTTP)')
  return url.href
}

/**
 * Whether tracing is asked for, for the preload that runs before the configuration is loaded. A
 * bad value starts no tracing; loadConfig then stops the start with one line naming it.
 */
export function tracingRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  try {
    return parseOtlpEndpoint(env['OTEL_EXPORTER_OTLP_ENDPOINT']) !== null
  } catch {
    return false
  }
}
