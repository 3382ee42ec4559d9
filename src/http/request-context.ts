/**
 * What ties a request's log lines to the rest of a system: `request_id`, from an X-Request-Id
 * header when it is a sane value (echoed back in the response), and `trace_id`, from the span
 * tracing made for the request, or without tracing from a W3C `traceparent` header. Both join the
 * request's logger bindings, so every line the request logs carries them; a request with neither
 * costs nothing more.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { onRequestHookHandler } from 'fastify'
import type { Bindings } from 'pino'

/** Ids as proxies and load balancers make them (UUIDs, ULIDs, `Root=1-…`): short, no spaces, no quotes. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

/** W3C Trace Context §3.2: version-traceid-parentid-flags; a later version may append fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/
const ZEROS = /^0+$/

/** The X-Request-Id header when it is a sane value; repeated headers (joined with ", ") are not. */
export function requestIdOf(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : undefined
}

/** The trace id of a valid traceparent header (§3.2.2: version ff, all-zero ids and 00 with extra fields are invalid). */
export function traceIdOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined
  const match = TRACEPARENT.exec(header.trim())
  if (match === null) return undefined
  const [, version, traceId, parentId, rest] = match
  if (version === 'ff' || (version === '00' && rest !== undefined) || ZEROS.test(traceId!) || ZEROS.test(parentId!)) return undefined
  return traceId
}

/** Where the current trace id comes from when tracing is on (tracing/tracing.ts). */
export interface ActiveTrace {
  activeTraceId(): string | undefined
}

/** The request logger's bindings, with trace_id and request_id when the request has them. */
export function requestLogBindings(bindings: Bindings, headers: IncomingHttpHeaders, tracing: ActiveTrace | undefined): Bindings {
  const requestId = requestIdOf(headers['x-request-id'])
  const traceId = tracing?.activeTraceId() ?? traceIdOf(headers['traceparent'])
  if (requestId === undefined && traceId === undefined) return bindings
  return {
    ...bindings,
    ...(traceId === undefined ? {} : { trace_id: traceId }),
    ...(requestId === undefined ? {} : { request_id: requestId }),
  }
}

/** Sends a sane X-Request-Id back, so the caller can match the response to its request. */
export const echoRequestId: onRequestHookHandler = (request, reply, done) => {
  const requestId = requestIdOf(request.headers['x-request-id'])
  if (requestId !== undefined) reply.header('x-request-id', requestId)
  done()
}
