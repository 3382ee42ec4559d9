import type { FastifyInstance, preHandlerHookHandler } from 'fastify'
import { normaliseEmail } from '../db/repositories/users.js'

/**
 * Throttling per email address, keyed by the address as submitted — known or not, so a 429
 * reveals nothing about which accounts exist (login, signup, forgot-password).
 */
export function perEmailRateLimit(app: FastifyInstance, name: string, max: number, timeWindowMs: number): preHandlerHookHandler {
  return app.rateLimit({
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (request) => `${name}:${normaliseEmail(String((request.body as { email?: unknown } | undefined)?.email ?? '')).slice(0, 320)}`,
  })
}
