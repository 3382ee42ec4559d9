/**
 * OpenTelemetry tracing, started by preload.ts only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans
 * for incoming HTTP requests (continuing a W3C `traceparent`), for Fastify's routes and hooks, and
 * for PostgreSQL statements, posted as OTLP/HTTP JSON to the collector in batches. The packages are
 * loaded with require() here, synchronously and only then: their instrumentations patch http and
 * pg as those load, which must be before the rest of the server imports them, and a server
 * without tracing never loads them at all.
 *
 * What leaves the process is redacted like the logs (docs/security.md §H): query strings (codes,
 * state, id_token_hint) are never recorded, only paths; SQL goes without its parameters.
 */
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type * as Api from '@opentelemetry/api'
import type * as FastifyOtel from '@fastify/otel'
import type * as Exporter from '@opentelemetry/exporter-trace-otlp-http'
import type * as Instrumentation from '@opentelemetry/instrumentation'
import type * as Http from '@opentelemetry/instrumentation-http'
import type * as Pg from '@opentelemetry/instrumentation-pg'
import type * as Resources from '@opentelemetry/resources'
import type * as TraceNode from '@opentelemetry/sdk-trace-node'

export interface Tracing {
  /** The trace id of the span active now (inside a request: the request's), if any. */
  activeTraceId(): string | undefined
  /** Sends the spans still buffered, then stops; at most `ms`. */
  shutdown(ms?: number): Promise<void>
}

/** Scrapes of the metrics listener are not worth a trace each. */
const UNTRACED_PATHS = new Set(['/metrics'])

const pathOf = (url: string): string => {
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}

export function startTracing(): Tracing {
  const require = createRequire(import.meta.url)
  const api = require('@opentelemetry/api') as typeof Api
  const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof TraceNode
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof Exporter
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof Instrumentation
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof Http
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof Pg
  const { FastifyOtelInstrumentation } = require('@fastify/otel') as typeof FastifyOtel
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = require('@opentelemetry/resources') as typeof Resources

  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'tessera' }))
    .merge(detectResources({ detectors: [envDetector] }))
  // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (adding /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS
  // itself; the batch processor reads OTEL_BSP_*, the provider OTEL_TRACES_SAMPLER.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] })
  // The W3C trace-context propagator: an incoming traceparent continues its trace.
  provider.register()
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(pathOf(request.url ?? '')),
        // Outgoing calls by node:http are not Tessera's (it uses fetch); nothing to record there.
        disableOutgoingRequestInstrumentation: true,
        // Replaces the query the instrumentation would record.
        startIncomingSpanHook: (request: IncomingMessage) => ((request.url ?? '').includes('?') ? { 'url.query': '[redacted]' } : {}),
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        requestHook: (span, request) => {
          if (request.url.includes('?')) span.setAttribute('url.path', pathOf(request.url))
        },
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  })

  return {
    activeTraceId() {
      const context = api.trace.getSpanContext(api.context.active())
      return context !== undefined && api.isSpanContextValid(context) ? context.traceId : undefined
    },
    async shutdown(ms = 5_000) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        provider.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms)
          timer.unref()
        }),
      ])
      clearTimeout(timer)
    },
  }
}
