/**
 * One outbound POST for outbox jobs (back-channel logout tokens as a form, webhooks as JSON):
 * bounded in time, redirects never followed, the body of the answer read and thrown away. A URL a
 * client chose for itself (RFC 7591, a metadata document) reaches public addresses only, with the
 * same guard as the documents Tessera fetches (clients/document-fetch.ts); an operator's URL may
 * point anywhere, an intranet included.
 */
import http from 'node:http'
import https from 'node:https'
import { DocumentUnavailable, pinnedLookup, vettedAddress } from '../clients/document-fetch.js'

/** Why a POST did not get an answer; `problem` is safe to log and store (no body, no token). */
export class PostFailed extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'PostFailed'
  }
}

export interface PostOptions {
  readonly timeoutMs: number
  /** null: any address. Otherwise every resolved address must be public (loopback when allowed). */
  readonly publicAddresses: { readonly allowLoopback: boolean } | null
}

export interface PostBody {
  readonly contentType: string
  readonly body: string
  /** More request headers (lower-case names), e.g. a signature. */
  readonly headers?: Readonly<Record<string, string>>
}

/** POSTs `body` with its content type; resolves with the answer's HTTP status. */
export async function post(target: string, content: PostBody, options: PostOptions): Promise<number> {
  const url = new URL(target)
  let lookup
  try {
    lookup =
      options.publicAddresses === null ? undefined : pinnedLookup(await vettedAddress(url.hostname, options.publicAddresses.allowLoopback))
  } catch (error) {
    throw new PostFailed(error instanceof DocumentUnavailable ? error.problem : 'the host could not be resolved')
  }
  const client = url.protocol === 'https:' ? https : http
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          ...content.headers,
          'content-type': content.contentType,
          'content-length': Buffer.byteLength(content.body),
          accept: '*/*',
          'user-agent': 'Tessera',
        },
        ...(lookup !== undefined ? { lookup } : {}),
        signal: AbortSignal.timeout(options.timeoutMs),
        // One connection per POST: nothing pools sockets to addresses a client chose.
        agent: false,
      },
      (response) => {
        // The answer's body does not matter; it is drained so the socket closes cleanly.
        response.resume()
        response.on('error', () => undefined)
        resolve(response.statusCode ?? 0)
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => {
      const timedOut = error.name === 'AbortError' || error.name === 'TimeoutError'
      reject(new PostFailed(timedOut ? `no answer within ${options.timeoutMs} ms` : `the connection failed (${error.code ?? 'error'})`))
    })
    request.end(content.body)
  })
}
