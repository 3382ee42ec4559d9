/** The caller the admin API scope's hook authenticated (index.ts), as its routes read it. */
import type { FastifyRequest } from 'fastify'
import type { AdminScope } from '../../../oauth/admin-api.js'
import type { AdminCaller } from './authenticate.js'

/** The authenticated caller; a route outside the admin scope (or a public one) asking for it is a bug. */
export function callerOf(request: FastifyRequest): AdminCaller {
  if (request.adminCaller === null) throw new TypeError('callerOf: the request was not authenticated by the admin API scope')
  return request.adminCaller
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin API scope's onRequest hook; null elsewhere. */
    adminCaller: AdminCaller | null
  }
  interface FastifyContextConfig {
    /** The scope an admin API route needs (schemas.ts adminRoute), or `public` (the OpenAPI document). */
    adminScope?: AdminScope | 'public'
  }
}
