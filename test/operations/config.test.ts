/**
 * METRICS_PORT, METRICS_HOST and OTEL_EXPORTER_OTLP_ENDPOINT: parsed at start, each bad value
 * reported on one line naming its variable (and the real process refuses to start with exactly
 * one stderr line); a collector URL is never echoed (it may hold credentials).
 */
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { tracingRequested } from '../../src/config/observability.js'
import { startServer } from './support.js'

const BASE = { DATABASE_URL: 'sqlite::memory:', PORT: '3000' }

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...BASE, ...env })
    return []
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
}

t.test('defaults: no metrics listener, bound to 127.0.0.1 when there is one, no tracing', async (t) => {
  const config = loadConfig(BASE)
  t.equal(config.metricsPort, null)
  t.equal(config.metricsHost, '127.0.0.1')
  t.equal(config.otlpEndpoint, null)
})

t.test('good values', async (t) => {
  t.equal(loadConfig({ ...BASE, METRICS_PORT: '9464' }).metricsPort, 9464)
  t.equal(loadConfig({ ...BASE, METRICS_PORT: 'off' }).metricsPort, null)
  for (const host of ['0.0.0.0', '::1', '::', '10.1.2.3', 'localhost'])
    t.equal(loadConfig({ ...BASE, METRICS_HOST: host }).metricsHost, host)
  t.equal(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' }).otlpEndpoint, 'http://otel-collector:4318/')
})

t.test('bad values: one problem each, naming the variable', async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ METRICS_PORT: 'abc' }, 'METRICS_PORT', /not a port number/],
    [{ METRICS_PORT: '0' }, 'METRICS_PORT', /from 1 to 65535/],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT', /from 1 to 65535/],
    [{ METRICS_PORT: '94 64' }, 'METRICS_PORT', /not a port number/],
    [{ METRICS_PORT: '3000' }, 'METRICS_PORT', /must differ from PORT/],
    [{ METRICS_HOST: 'metrics.example.com' }, 'METRICS_HOST', /not an IP address/],
    [{ METRICS_HOST: '127.0.0.1:9464' }, 'METRICS_HOST', /not an IP address/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', /http\(s\) URL|not an absolute URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', /not an absolute URL/],
  ]
  for (const [env, variable, why] of cases) {
    const found = problems(env)
    t.equal(found.length, 1, `${JSON.stringify(env)}: one problem (${found.join('; ')})`)
    t.match(found[0], new RegExp(`^${variable}: `), 'names the variable')
    t.match(found[0], why)
  }
  const secret = problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://user:hunter2@collector' })
  t.equal(secret.length, 1)
  t.notOk(secret[0]!.includes('hunter2'), 'the value is not echoed')
})

t.test('tracingRequested (read before the configuration, by the preload) follows the same rule', async (t) => {
  t.equal(tracingRequested({}), false)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), false)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), false, 'a bad value starts nothing; loadConfig reports it')
})

t.test('the real process refuses a bad value with one stderr line and exit code 2', async (t) => {
  for (const [variable, value] of [
    ['METRICS_PORT', 'ninety'],
    ['METRICS_HOST', 'metrics.example.com'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
  ] as const) {
    const server = await startServer(t, { [variable]: value })
    const exit = await server.child.exited(60_000)
    t.same(exit, { code: 2, signal: null }, `${variable}=${value}: exit code 2`)
    const lines = server.child.stderr.trimEnd().split('\n')
    t.equal(lines.length, 1, `one stderr line: ${JSON.stringify(server.child.stderr)}`)
    t.match(lines[0], new RegExp(`^tessera: invalid configuration: ${variable}: `))
  }
})
