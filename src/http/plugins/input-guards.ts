import type { FastifyInstance } from 'fastify'
import { OAuthError } from '../../errors/oauth-error.js'

/**
 * True when any string in a parsed query or form (values, arrays, keys) holds a NUL character.
 * Forms and queries are at most two levels deep; anything deeper is left to the route's schema.
 */
function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (depth > 4 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false
  if (Array.isArray(value)) return value.some((item) => holdsNul(item, depth + 1))
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || holdsNul(item, depth + 1))
}

/**
 * No parameter of any endpoint may contain NUL: it is never meaningful, PostgreSQL refuses it in
 * text (which would surface as a 500), and C-based code downstream would truncate at it.
 */
export function rejectNulCharacters(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and has nothing to await.
  app.addHook('preValidation', (request, _reply, done) => {
    if (holdsNul(request.query) || holdsNul(request.body))
      return done(new OAuthError('invalid_request', 'parameters must not contain NUL characters'))
    done()
  })
}
