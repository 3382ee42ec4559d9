/**
 * CORS for the endpoints browsers' JavaScript may call (token, userinfo, revocation,
 * introspection, JWKS, discovery) and only for origins of registered redirect URIs. Pages get
 * no CORS at all (they are registered outside this scope). Discovery and JWKS answer simple
 * requests themselves (well-known.ts); their preflights come here like every other path's.
 */
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { ClientsRepository } from '../../db/repositories/clients.js'

const CACHE_SECONDS = 30

/** Origins of every registered redirect URI, re-read at most every 30 s. */
export function registeredOrigins(
  clients: ClientsRepository,
  now: () => number = () => Date.now() / 1000,
): () => Promise<ReadonlySet<string>> {
  let cached: { origins: ReadonlySet<string>; at: number } | undefined
  return async () => {
    if (cached && now() - cached.at < CACHE_SECONDS) return cached.origins
    const origins = new Set<string>()
    for (const client of await clients.list()) {
      for (const uri of client.redirectUris) {
        try {
          const { origin } = new URL(uri)
          if (origin !== 'null') origins.add(origin)
        } catch {
          // Unparseable URIs cannot be registered; nothing to add.
        }
      }
    }
    cached = { origins, at: now() }
    return origins
  }
}

/** Paths browser JavaScript may call cross-origin; everything else (pages) never answers CORS. */
export const CORS_PATHS: ReadonlySet<string> = new Set([
  '/token',
  '/par',
  '/userinfo',
  '/revoke',
  '/introspect',
  '/.well-known/jwks.json',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
])

/** `origins`: a registeredOrigins() reader, shared with the well-known documents' own CORS. */
export async function registerCors(app: FastifyInstance, origins: () => Promise<ReadonlySet<string>>): Promise<void> {
  // Browser clients send DPoP proofs (RFC 9449) and must read the server's nonce and challenges.
  const enabled = {
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'DPoP'],
    exposedHeaders: ['DPoP-Nonce', 'WWW-Authenticate'],
    credentials: false,
    maxAge: 600,
  }
  const disabled = { origin: false }
  await app.register(cors, {
    // Decided per request: @fastify/cors answers OPTIONS on every path, so the path is checked here.
    delegator: (request, callback) => {
      const origin = request.headers.origin
      if (origin === undefined) return callback(null, disabled)
      const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '') || '/'
      // RFC 7591 registration: the caller has no registered origin yet; no cookies are involved.
      if (path === '/register' || path.startsWith('/register/'))
        return callback(null, { ...enabled, methods: ['GET', 'POST', 'DELETE'], origin })
      if (!CORS_PATHS.has(path)) return callback(null, disabled)
      origins().then(
        (allowed) => callback(null, allowed.has(origin) ? { ...enabled, origin } : disabled),
        (error: Error) => callback(error, disabled),
      )
    },
  })
}
