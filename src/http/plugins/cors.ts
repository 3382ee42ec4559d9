/**
 * CORS for the endpoints browsers' JavaScript may call (token, userinfo, revocation,
 * introspection, JWKS, discovery) and only for origins of registered redirect URIs. Pages get
 * no CORS at all (they are registered outside this scope).
 */
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { ClientsRepository } from '../../db/repositories/clients.js'

const CACHE_SECONDS = 30

/** Origins of every registered redirect URI, re-read at most every 30 s. */
export function registeredOrigins(clients: ClientsRepository, now: () => number = () => Date.now() / 1000): () => Promise<ReadonlySet<string>> {
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

export async function registerCors(app: FastifyInstance, clients: ClientsRepository): Promise<void> {
  const origins = registeredOrigins(clients)
  await app.register(cors, {
    origin: (origin, callback) => {
      if (origin === undefined) return callback(null, false)
      origins().then((allowed) => callback(null, allowed.has(origin)), (error: Error) => callback(error, false))
    },
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    credentials: false,
    maxAge: 600,
  })
}
