/**
 * The public documents every client and resource server fetches: discovery (under each name
 * clients look for it) and the JWKS. Built once from configuration (never from request headers),
 * each with its complete header set, so the routes (routes/well-known.ts) and the server's fast
 * path (document-fast-path.ts) send the same bytes.
 */
import type { Config } from '../config/config.js'
import type { KeyStore } from '../keys/key-store.js'
import { discoveryDocument, ENDPOINT_PATHS } from '../oauth/discovery.js'
import { apiSecurityHeaders } from './plugins/security-headers.js'

export interface WellKnownDocument {
  /** Security headers, cache lifetime, `Vary: Origin` and the content type; CORS is added per request. */
  readonly headers: Readonly<Record<string, string>>
  /** Read per request: the JWKS changes when keys rotate. */
  readonly body: () => string
}

/** The documents by path. */
export type WellKnownDocuments = ReadonlyMap<string, WellKnownDocument>

export function wellKnownDocuments(config: Config, keys: KeyStore): WellKnownDocuments {
  const common = {
    ...apiSecurityHeaders({ https: config.issuerIsHttps }),
    vary: 'Origin',
    'content-type': 'application/json; charset=utf-8',
  }
  const discoveryJson = JSON.stringify(
    discoveryDocument(config.issuer, {
      registration: config.registration !== 'off',
      clientMetadataDocuments: config.clientMetadataDocuments === 'on',
      requirePar: config.requirePar === 'on',
    }),
  )
  const discovery: WellKnownDocument = { headers: { ...common, 'cache-control': 'public, max-age=3600' }, body: () => discoveryJson }
  // max-age stays shorter than the time a next key is published before it signs (docs/security.md §F).
  const jwks: WellKnownDocument = {
    headers: { ...common, 'cache-control': `public, max-age=${config.jwksMaxAge}` },
    body: () => keys.jwksJson(),
  }

  // The same document under every name clients look for it: OIDC Discovery (path appended),
  // RFC 8414 (path inserted after /.well-known/ when the issuer has a path, §3.1), and the
  // path-inserted OIDC form MCP clients try. A reverse proxy that strips the issuer's path
  // forwards all of them here.
  const documents = new Map<string, WellKnownDocument>()
  const issuerPath = new URL(config.issuer).pathname.replace(/\/+$/, '')
  for (const name of ['openid-configuration', 'oauth-authorization-server']) {
    documents.set(`/.well-known/${name}`, discovery)
    if (issuerPath !== '') documents.set(`/.well-known/${name}${issuerPath}`, discovery)
  }
  documents.set(ENDPOINT_PATHS.jwks, jwks)
  return documents
}
