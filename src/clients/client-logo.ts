/**
 * Client logos on the sign-in and consent pages (issue 19: users tell a real app from an impostor
 * by its logo, name and return address). A logo_uri points anywhere, but the pages allow images
 * from their own origin only (CSP `img-src 'self'`), so a logo is fetched by the server under the
 * SSRF rules of client documents (document-fetch.ts), must be a PNG, JPEG, GIF or WebP by its
 * bytes (SVG is refused: it can carry script), at most 256 KiB, and is served from
 * /client-logos/CLIENT/DIGEST. A page never waits for a fetch: one without a stored logo starts one
 * in the background and shows the name alone; kept logos are fetched again after a day, failures
 * after an hour.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { Repositories } from '../db/repositories.js'
import type { Clock } from '../clock.js'
import type { Client } from '../model/client.js'
import { isLocalIssuer } from '../oauth/web-url.js'
import { DocumentUnavailable, fetchDocument } from './document-fetch.js'
import { MAX_LOGO_BYTES, rasterImageType } from '../branding/image-type.js'

export const CLIENT_LOGO_PATH = '/client-logos'
const TIMEOUT_MS = 5000
const KEEP_SECONDS = 24 * 3600
const RETRY_FAILED_SECONDS = 3600

/** The logo_uri a client registered (RFC 7591 §2), if it is a string. */
export const logoUriOf = (client: Pick<Client, 'metadata'>): string | null => {
  const value = client.metadata['logo_uri']
  return typeof value === 'string' && value !== '' ? value : null
}

export interface ClientLogos {
  /** The page URL of the client's logo when one is kept for its current logo_uri; starts a fetch when none is, or it is old. */
  urlFor(client: Client): Promise<string | null>
  /** The image the asset route serves: only the current one of a client, by digest. */
  image(clientId: string, digest: string): Promise<{ readonly contentType: string; readonly body: Buffer } | null>
  /** Fetches the client's logo now and keeps it (or the failure). */
  refresh(client: Client): Promise<void>
  /** Resolves when no fetch is running (tests and shutdown). */
  idle(): Promise<void>
}

export function createClientLogos(deps: { repos: Repositories; clock: Clock; config: Config; log: Logger }): ClientLogos {
  const running = new Map<string, Promise<void>>()
  const policy = { allowLoopback: isLocalIssuer(deps.config.issuer), maxBytes: MAX_LOGO_BYTES, timeoutMs: TIMEOUT_MS }

  async function fetchAndKeep(client: Client, sourceUri: string): Promise<void> {
    let image: { contentType: string; body: Buffer; digest: string } | null = null
    try {
      const fetched = await fetchDocument(sourceUri, policy, 'image/png, image/jpeg, image/gif, image/webp')
      const contentType = rasterImageType(fetched.bytes)
      if (contentType === null) throw new DocumentUnavailable('not a PNG, JPEG, GIF or WebP image')
      image = { contentType, body: fetched.bytes, digest: createHash('sha256').update(fetched.bytes).digest('base64url').slice(0, 22) }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      deps.log.info({ event: 'client_logo_unavailable', clientId: client.id, reason }, 'client logo not fetched')
    }
    await deps.repos.clientLogos.save({ clientId: client.id, sourceUri, image, fetchedAt: deps.clock.now() })
  }

  const refresh = (client: Client): Promise<void> => {
    const sourceUri = logoUriOf(client)
    if (sourceUri === null) return deps.repos.clientLogos.remove(client.id)
    const inFlight = running.get(client.id)
    if (inFlight) return inFlight
    const work = fetchAndKeep(client, sourceUri).finally(() => running.delete(client.id))
    running.set(client.id, work)
    return work
  }

  return {
    async urlFor(client) {
      const sourceUri = logoUriOf(client)
      if (sourceUri === null) return null
      const stored = await deps.repos.clientLogos.find(client.id)
      const current = stored?.sourceUri === sourceUri ? stored : undefined
      const age = current ? deps.clock.now() - current.fetchedAt : Infinity
      if (age >= (current?.image ? KEEP_SECONDS : RETRY_FAILED_SECONDS))
        void refresh(client).catch((error: unknown) => deps.log.warn({ err: error, clientId: client.id }, 'client logo not stored'))
      return current?.image ? `${CLIENT_LOGO_PATH}/${encodeURIComponent(client.id)}/${current.image.digest}` : null
    },
    async image(clientId, digest) {
      const stored = await deps.repos.clientLogos.find(clientId)
      return stored?.image && stored.image.digest === digest ? stored.image : null
    },
    refresh,
    async idle() {
      await Promise.allSettled([...running.values()])
    },
  }
}
