/**
 * The rows page-locale.ts reads to choose a page's language (the login session, its user, the
 * sign-in's interaction), handed to the handler's own first read of the same row, so that a page
 * does not read them twice. Handed once: any later read in the request (after the handler may have
 * changed the row) goes to the database, and a read of another row (another id) was never kept.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Interaction } from '../model/interaction.js'
import type { LoginSession } from '../model/session.js'
import type { User } from '../model/user.js'

interface Rows {
  readonly session: LoginSession
  readonly user: User
  readonly interaction: Interaction
}

type Kept = { -readonly [K in keyof Rows]?: { readonly key: string; readonly row: Rows[K] | undefined } }

declare module 'fastify' {
  interface FastifyRequest {
    /** Rows read before the handler (page routes of the site scope only; null elsewhere). */
    pageReads: Kept | null
  }
}

export function decoratePageReads(site: FastifyInstance): void {
  site.decorateRequest('pageReads', null)
}

/** Keeps what the hook read (undefined: no such live row) for the handler's first read of `key`. */
export async function readForPage<K extends keyof Rows>(
  request: FastifyRequest,
  kind: K,
  key: string,
  read: () => Promise<Rows[K] | undefined>,
): Promise<Rows[K] | undefined> {
  const row = await read()
  request.pageReads ??= {}
  ;(request.pageReads as Record<K, { key: string; row: Rows[K] | undefined }>)[kind] = { key, row }
  return row
}

/** The row the hook read for `key`, taken (only once), else `read()`. */
export async function readOnce<K extends keyof Rows>(
  request: FastifyRequest,
  kind: K,
  key: string,
  read: () => Promise<Rows[K] | undefined>,
): Promise<Rows[K] | undefined> {
  const kept = request.pageReads?.[kind]
  if (kept === undefined || kept.key !== key) return read()
  delete request.pageReads![kind]
  return kept.row as Rows[K] | undefined
}
