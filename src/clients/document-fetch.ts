/**
 * Fetching a document a client points us at (a client ID metadata document, a jwks_uri) without
 * becoming a proxy into the operator's network (SSRF): https only, every resolved address must be
 * public (no private, loopback, link-local, CGNAT, multicast or cloud-metadata addresses), the
 * connection goes to the address that was checked (no second DNS answer), no redirects, a size
 * limit and one deadline for the whole fetch, DNS included. Loopback http is allowed only when the
 * issuer itself is on localhost (tests and local development), whatever NODE_ENV says.
 */
import { lookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { checkWebUrl } from '../oauth/web-url.js'

export class DocumentUnavailable extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'DocumentUnavailable'
  }
}

export interface DocumentFetchPolicy {
  /** The issuer is on localhost or 127.0.0.1: loopback URLs (http or https) are allowed. */
  readonly allowLoopback: boolean
  readonly maxBytes: number
  /** The whole fetch (DNS, connection, headers and body) must end within this. */
  readonly timeoutMs: number
  /** How host names are resolved; the system resolver unless a test stubs it. */
  readonly resolve?: Resolve
}

export interface FetchedDocument {
  readonly body: unknown
  /** Seconds the response may be cached for (cacheLifetime: Cache-Control, Expires, Age); null when it does not say. */
  readonly maxAge: number | null
}

/**
 * ipaddr.js names every special-purpose range (RFC 6890); only `unicast` is the public internet.
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
function addressAllowed(address: string, allowLoopback: boolean): boolean {
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  const range = parsed.range()
  if (range === 'loopback') return allowLoopback
  return range === 'unicast'
}

/** Checks a URL before any connection: the scheme, no credentials, no fragment. */
export function checkDocumentUrl(raw: string, policy: Pick<DocumentFetchPolicy, 'allowLoopback'>): URL {
  const { url, problem } = checkWebUrl(raw, { loopback: policy.allowLoopback })
  if (problem === 'not_absolute') throw new DocumentUnavailable('not an absolute URL')
  if (problem === 'loopback') throw new DocumentUnavailable('loopback addresses are not allowed')
  if (url === null) throw new DocumentUnavailable('the URL must be https')
  if (url.username !== '' || url.password !== '') throw new DocumentUnavailable('the URL must not contain credentials')
  if (url.hash !== '' || raw.includes('#')) throw new DocumentUnavailable('the URL must not contain a fragment')
  return url
}

/** Every address of a name, as `dns.lookup(name, { all: true })` answers. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>

const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true })

/** Resolves the host and checks every address; returns the first, which the connection must use. */
export async function vettedAddress(
  hostname: string,
  allowLoopback: boolean,
  resolve: Resolve = systemResolve,
): Promise<{ address: string; family: number }> {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  let addresses: { address: string; family: number }[]
  try {
    addresses = ipaddr.isValid(bare) ? [{ address: bare, family: bare.includes(':') ? 6 : 4 }] : await resolve(bare)
  } catch {
    throw new DocumentUnavailable(`${hostname} could not be resolved`)
  }
  if (addresses.length === 0) throw new DocumentUnavailable(`${hostname} could not be resolved`)
  for (const { address } of addresses) {
    if (!addressAllowed(address, allowLoopback)) throw new DocumentUnavailable(`${hostname} resolves to a non-public address`)
  }
  return addresses[0]!
}

/** A DNS lookup that always answers the checked address: the socket connects there, whatever DNS says now (no rebinding). */
export function pinnedLookup(pinned: { readonly address: string; readonly family: number }): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      return void (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [pinned])
    callback(null, pinned.address, pinned.family)
  }
}

/** The response headers caching is decided by. */
export interface CachingHeaders {
  readonly 'cache-control'?: string | undefined
  readonly expires?: string | undefined
  readonly date?: string | undefined
  readonly age?: string | undefined
}

/**
 * Seconds a response may still be used (RFC 9111): 0 for no-store or no-cache (§5.2.2.4, §5.2.2.5);
 * else its freshness lifetime (§4.2.1): s-maxage, since the copy is shared by every instance
 * (§5.2.2.10), then max-age, then Expires less Date (an invalid Expires, such as "0", is in the past,
 * §5.3); less the Age it already has (§4.2.3, §5.1). Null when the response says nothing.
 * `now` in epoch seconds stands in for a missing Date.
 */
export function cacheLifetime(headers: CachingHeaders, now: number): number | null {
  const directives = (headers['cache-control'] ?? '')
    .toLowerCase()
    .split(',')
    .map((part) => part.trim())
  if (directives.some((directive) => directive === 'no-store' || directive === 'no-cache')) return 0
  const seconds = (name: string) => {
    const match = directives.map((directive) => new RegExp(`^${name}="?(\\d+)"?$`).exec(directive)).find((found) => found !== null)
    return match ? Number(match[1]) : undefined
  }
  let lifetime = seconds('s-maxage') ?? seconds('max-age')
  if (lifetime === undefined && headers.expires !== undefined) {
    const expires = Date.parse(headers.expires)
    const date = headers.date === undefined ? NaN : Date.parse(headers.date)
    lifetime = Number.isNaN(expires) ? 0 : Math.max(0, Math.floor(expires / 1000 - (Number.isNaN(date) ? now : date / 1000)))
  }
  if (lifetime === undefined) return null
  const age = /^\d+$/.test(headers.age?.trim() ?? '') ? Number(headers.age) : 0
  return Math.max(0, lifetime - age)
}

/** Settles with `work`, or rejects with the signal's reason once it aborts (the work is then abandoned). */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error)
    const abandon = () => reject(signal.reason as Error)
    signal.addEventListener('abort', abandon, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abandon))
  })
}

/**
 * GETs a JSON document under the policy above. `timeoutMs` bounds the whole fetch: DNS, connect,
 * TLS, headers and body together. (A socket idle timeout alone would let a server sending a byte
 * every few seconds hold a request to /authorize or /token for hours.)
 */
export async function fetchJsonDocument(raw: string, policy: DocumentFetchPolicy): Promise<FetchedDocument> {
  const fetched = await fetchDocument(raw, policy, 'application/json')
  try {
    return { body: JSON.parse(fetched.bytes.toString('utf8')) as unknown, maxAge: fetched.maxAge }
  } catch {
    throw new DocumentUnavailable('the document is not JSON')
  }
}

export interface FetchedBytes {
  readonly bytes: Buffer
  /** The Content-Type header as sent (null: none); callers sniff before trusting it. */
  readonly contentType: string | null
  readonly maxAge: number | null
}

/** GETs any document under the policy above (a client's logo, a JSON document). */
export async function fetchDocument(raw: string, policy: DocumentFetchPolicy, accept: string): Promise<FetchedBytes> {
  const url = checkDocumentUrl(raw, policy)
  const deadline = new AbortController()
  const timer = setTimeout(
    () => deadline.abort(new DocumentUnavailable(`no complete answer within ${policy.timeoutMs} ms`)),
    policy.timeoutMs,
  )
  try {
    // dns.lookup cannot be cancelled; past the deadline its answer is simply not waited for.
    const address = await beforeDeadline(vettedAddress(url.hostname, policy.allowLoopback, policy.resolve), deadline.signal)
    return await download(url, pinnedLookup(address), policy, deadline.signal, accept)
  } finally {
    clearTimeout(timer)
  }
}

function download(
  url: URL,
  lookup: LookupFunction,
  policy: DocumentFetchPolicy,
  deadline: AbortSignal,
  accept: string,
): Promise<FetchedBytes> {
  const client = url.protocol === 'https:' ? https : http
  return new Promise<FetchedBytes>((resolve, reject) => {
    const request = client.request(url, { method: 'GET', lookup, headers: { accept }, agent: false }, (response) => {
      const status = response.statusCode ?? 0
      if (status !== 200) {
        response.resume()
        // Redirects are not followed: the document must be served at its own URL.
        return reject(
          new DocumentUnavailable(
            status >= 300 && status < 400 ? 'the URL redirects (redirects are not followed)' : `the server answered HTTP ${status}`,
          ),
        )
      }
      const declared = Number(response.headers['content-length'] ?? 0)
      if (declared > policy.maxBytes) {
        response.destroy()
        return reject(new DocumentUnavailable(`the document is larger than ${policy.maxBytes} bytes`))
      }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > policy.maxBytes) {
          response.destroy()
          reject(new DocumentUnavailable(`the document is larger than ${policy.maxBytes} bytes`))
          return
        }
        chunks.push(chunk)
      })
      response.on('error', () => reject(new DocumentUnavailable('the connection failed')))
      response.on('end', () =>
        resolve({
          bytes: Buffer.concat(chunks),
          contentType: response.headers['content-type'] ?? null,
          maxAge: cacheLifetime(response.headers, Math.floor(Date.now() / 1000)),
        }),
      )
    })
    // The deadline's reason settles the promise first; what the destroyed socket says after is ignored.
    const expire = () => {
      reject(deadline.reason as Error)
      request.destroy()
    }
    if (deadline.aborted) expire()
    else deadline.addEventListener('abort', expire, { once: true })
    request.on('close', () => deadline.removeEventListener('abort', expire))
    request.on('error', (error) => reject(error instanceof DocumentUnavailable ? error : new DocumentUnavailable('the connection failed')))
    request.end()
  })
}
