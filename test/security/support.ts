/**
 * Shared pieces of the security tests (not a test file: tap runs *.test.ts only): a raw HTTP/1.1
 * client over a TCP socket (sends exactly the bytes given, which `fetch` and `http.request` would
 * refuse or normalise), a seeded PRNG, and the leak patterns every error body is checked against.
 */
import net from 'node:net'

export interface RawResponse {
  readonly statusCode: number
  /** Lower-cased names; repeated headers joined with ", " (set-cookie with "\n"). */
  readonly headers: Record<string, string>
  readonly body: string
}

/** Decodes a chunked body (Fastify answers with Content-Length, but Node may chunk). */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset)
    if (lineEnd < 0) break
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

export function parseRawResponse(data: Buffer): RawResponse {
  const headEnd = data.indexOf('\r\n\r\n')
  if (headEnd < 0) throw new Error(`no complete HTTP response: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`)
  const [statusLine, ...lines] = data.subarray(0, headEnd).toString('latin1').split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')
  if (!status) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}${name === 'set-cookie' ? '\n' : ', '}${value}`
  }
  let body = data.subarray(headEnd + 4)
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body)
  return { statusCode: Number(status[1]), headers, body: body.toString('utf8') }
}

/**
 * Writes `request` to a fresh connection and reads until the server closes it (`rawHttp` sends
 * `Connection: close`). Write errors are ignored: a server may answer and close before the whole
 * request is written.
 */
export function rawRequest(port: number, request: Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(request.subarray(0, 120).toString('latin1'))}`))
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {
      // ECONNRESET / EPIPE after an early answer: whatever was read is parsed on close.
    })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)))
      }
    })
    // No half-close: Node's server aborts requests still in progress when the client sends FIN.
    socket.write(request)
  })
}

/** Builds the bytes of an HTTP/1.1 request; Content-Length is computed unless given. */
export function rawHttp(method: string, target: string, headers: readonly (readonly [string, string])[], body?: Buffer): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, ...headers.map(([name, value]) => `${name}: ${value}`)]
  if (body !== undefined && !headers.some(([name]) => name.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${body.length}`)
  lines.push('Connection: close')
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)])
}

/** mulberry32: a tiny deterministic PRNG, so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Signs of a leaked stack trace or internal path in a response body. */
export const STACK_TRACE = /\bat [\w.<>]+ \(|node:internal|node_modules|\/src\/[\w/-]+\.[jt]s|Error: .*\n\s+at /

/** Names of Fastify, Node and database internals that must never reach a client. */
export const INTERNAL_NAMES = /FST_[A-Z_]+|ERR_[A-Z_]{4,}|SQLITE_|sqlite3?\b|TypeError|ReferenceError|RangeError|URIError|SyntaxError: /
