/**
 * Finding a client by its client_id: a registered client from the database, or, for a client_id
 * that is an https URL, the client its metadata document describes
 * (draft-ietf-oauth-client-id-metadata-document, the MCP 2025-11-25 default). A fetched document
 * is kept as a client row (the cache, shared by every instance) until its HTTP cache lifetime ends,
 * never longer than a day.
 */
import type { Deps } from '../deps.js'
import { OAuthError } from '../errors/oauth-error.js'
import type { Client } from '../model/client.js'
import { parseClientMetadata } from '../oauth/client-metadata.js'
import { DocumentUnavailable, fetchJsonDocument, type DocumentFetchPolicy } from './document-fetch.js'
import { isLocalIssuer } from '../oauth/web-url.js'
import { clientFromMetadata } from './self-described.js'
import { createClientAssertionVerifier } from './client-assertion.js'

/** A client_id URL whose document cannot be used; `problem` is safe to show. */
class ClientMetadataUnavailable extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'ClientMetadataUnavailable'
  }
}

export interface ClientDirectory {
  /** Throws OAuthError invalid_client when a client_id URL's document cannot be used (saying why). */
  find(clientId: string): Promise<Client | undefined>
  /** private_key_jwt: null when the assertion is good (and now used up), else why not. */
  verifyAssertion(client: Client, assertion: string): Promise<string | null>
}

/** Without cache headers a document is used for 5 minutes; whatever they say, at most a day. */
const DEFAULT_CACHE_SECONDS = 300
const CACHE_CEILING_SECONDS = 86_400
/** The draft recommends a small limit: metadata documents are a few hundred bytes. */
export const DOCUMENT_MAX_BYTES = 5120
export const DOCUMENT_TIMEOUT_MS = 5000

export const isUrlClientId = (clientId: string): boolean => clientId.startsWith('https://') || clientId.startsWith('http://')

/** The issuer runs on localhost: documents on loopback addresses are allowed (tests, local development). */
export function documentFetchPolicy(issuer: string): DocumentFetchPolicy {
  return { allowLoopback: isLocalIssuer(issuer), maxBytes: DOCUMENT_MAX_BYTES, timeoutMs: DOCUMENT_TIMEOUT_MS }
}

/** draft §3: a path, no dot segments, no fragment, no credentials. (The fetch checks scheme and address.) */
function checkClientIdUrl(clientId: string): void {
  const url = new URL(clientId)
  if (url.pathname === '/' || url.pathname === '') throw new ClientMetadataUnavailable('the client_id URL must have a path')
  if (
    clientId
      .split(/[?#]/)[0]!
      .split('/')
      .some((segment) => segment === '.' || segment === '..')
  )
    throw new ClientMetadataUnavailable('the client_id URL must not contain dot segments')
}

type DirectoryDeps = Pick<Deps, 'repos' | 'config' | 'clock' | 'audit'>

export function createClientDirectory(deps: DirectoryDeps): ClientDirectory {
  const policy = documentFetchPolicy(deps.config.issuer)
  // One fetch per document at a time in this process; concurrent requests share it.
  const inFlight = new Map<string, Promise<Client>>()
  const assertions = createClientAssertionVerifier(deps, policy)

  async function fetchClient(clientId: string, cached: Client | undefined): Promise<Client> {
    try {
      checkClientIdUrl(clientId)
      const document = await fetchJsonDocument(clientId, policy)
      const body = document.body as Record<string, unknown> | null
      // draft §4.1: the document names itself; anything else is someone else's document. (The
      // problem becomes an error_description: ASCII only, RFC 6749 §5.2.)
      if (typeof body !== 'object' || body === null || body['client_id'] !== clientId)
        throw new ClientMetadataUnavailable('its client_id is not exactly the URL it was fetched from')
      const metadata = parseClientMetadata(body, 'metadata_document', { issuer: deps.config.issuer })
      const now = deps.clock.now()
      const lifetime = Math.min(document.maxAge ?? DEFAULT_CACHE_SECONDS, CACHE_CEILING_SECONDS)
      const { client } = clientFromMetadata(metadata, 'metadata_document', clientId, {
        now: cached?.createdAt ?? now,
        refreshAt: now + lifetime,
      })
      await deps.repos.clients.saveMetadataDocumentClient(client)
      return client
    } catch (error) {
      const problem =
        error instanceof ClientMetadataUnavailable || error instanceof DocumentUnavailable
          ? error.problem
          : error instanceof OAuthError
            ? error.description
            : null
      if (problem === null) throw error
      await deps.audit.record('client_metadata_refused', { clientId, detail: { problem } }, 'client metadata document refused')
      throw new OAuthError('invalid_client', `the client metadata document cannot be used: ${problem}`)
    }
  }

  return {
    async find(clientId) {
      if (!isUrlClientId(clientId)) return deps.repos.clients.find(clientId)
      const cached = await deps.repos.clients.find(clientId)
      if (cached && cached.registration !== 'metadata_document') return cached
      // Turned off: documents fetched before are not used either.
      if (deps.config.clientMetadataDocuments === 'off') return undefined
      if (cached && (cached.refreshAt ?? 0) > deps.clock.now()) return cached
      let pending = inFlight.get(clientId)
      if (!pending) {
        pending = fetchClient(clientId, cached).finally(() => inFlight.delete(clientId))
        inFlight.set(clientId, pending)
      }
      return pending
    },

    verifyAssertion: (client, assertion) => assertions.verify(client, assertion),
  }
}
