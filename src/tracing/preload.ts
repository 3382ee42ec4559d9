/**
 * main.ts's first import, so that it runs before anything imports fastify or pg: with
 * OTEL_EXPORTER_OTLP_ENDPOINT set it starts tracing (tracing.ts), whose instrumentations must be in
 * place before those modules load; without it nothing more is loaded. ES modules evaluate their
 * imports in order, and this one does all its work synchronously (no top-level await, which would
 * let the next imports run first). The handle is exported for main.ts to pass down; it is the
 * process's one tracer, as OpenTelemetry's API is process-wide by design.
 */
import { tracingRequested } from '../config/observability.js'
import { startTracing, type Tracing } from './tracing.js'

export const tracing: Tracing | undefined = tracingRequested(process.env) ? startTracing() : undefined
