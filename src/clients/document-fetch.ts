/**
 * Fetching a document a client points us at (a client ID metadata document, a jwks_uri) without
 * becoming a proxy into the operator's network (SSRF): https only, every resolved address must be
 * public (no private, loopback, link-local, CGNAT, multicast or cloud-metadata addresses), the
 * connection goes to the address that was checked (no second DNS answer), no redirects, a size
 * and a time limit. Loopback http is allowed only when the issuer itself is on localhost (tests and
 * local development), whatever NODE_ENV says.
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
  readonly timeoutMs: number
}

export interface FetchedDocument {
  readonly body: unknown
  /** Seconds the response may be cached for (Cache-Control max-age; 0 for no-store/no-cache); null when it does not say. */
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

/** Resolves the host and checks every address; returns the first, which the connection must use. */
export async function vettedAddress(hostname: string, allowLoopback: boolean): Promise<{ address: string; family: number }> {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  let addresses: { address: string; family: number }[]
  try {
    addresses = ipaddr.isValid(bare)
      ? [{ address: bare, family: bare.includes(':') ? 6 : 4 }]
      : await lookup(bare, { all: true, verbatim: true })
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

function cacheLifetime(header: string | undefined): number | null {
  if (header === undefined) return null
  const directives = header
    .toLowerCase()
    .split(',')
    .map((part) => part.trim())
  if (directives.some((directive) => directive === 'no-store' || directive === 'no-cache')) return 0
  const maxAge = directives.map((directive) => /^max-age=(\d+)$/.exec(directive)).find((match) => match !== null)
  return maxAge ? Number(maxAge[1]) : null
}

/** GETs a JSON document under the policy above. */
export async function fetchJsonDocument(raw: string, policy: DocumentFetchPolicy): Promise<FetchedDocument> {
  const url = checkDocumentUrl(raw, policy)
  const lookup = pinnedLookup(await vettedAddress(url.hostname, policy.allowLoopback))
  const client = url.protocol === 'https:' ? https : http
  return new Promise<FetchedDocument>((resolve, reject) => {
    const request = client.request(
      url,
      { method: 'GET', lookup, headers: { accept: 'application/json' }, timeout: policy.timeoutMs, agent: false },
      (response) => {
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
        response.on('end', () => {
          try {
            resolve({
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
              maxAge: cacheLifetime(response.headers['cache-control']),
            })
          } catch {
            reject(new DocumentUnavailable('the document is not JSON'))
          }
        })
      },
    )
    request.on('timeout', () => request.destroy(new DocumentUnavailable(`no answer within ${policy.timeoutMs} ms`)))
    request.on('error', (error) => reject(error instanceof DocumentUnavailable ? error : new DocumentUnavailable('the connection failed')))
    request.end()
  })
}
