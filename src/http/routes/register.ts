/**
 * /register: RFC 7591 dynamic client registration, and RFC 7592 read and delete at
 * /register/{client_id} with the registration access token. Only registered when REGISTRATION is
 * `token` or `open`; a flood guard per address, since an open endpoint creates rows.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { deleteRegistration, readRegistration, registerDynamicClient } from '../../clients/dynamic-registration.js'
import { ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { AuthorizationHeader } from '../schemas.js'

const ClientIdParam = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 200 }) })
/** RFC 7591 §2: a JSON object; members are checked by the metadata rules (oauth/client-metadata.ts). */
const MetadataBody = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 64 })

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

export const registerRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const path = ENDPOINT_PATHS.registration
  app.post(
    path,
    {
      schema: { body: MetadataBody, headers: AuthorizationHeader },
      config: { rateLimit: { max: deps.config.registrationRateLimit, timeWindow: 60 * 60_000 } },
    },
    async (request, reply) => {
      const registered = await registerDynamicClient(deps, request.headers.authorization, request.body, request.ip)
      return reply.status(201).headers(NO_STORE).send(registered)
    },
  )

  app.get(`${path}/:clientId`, { schema: { params: ClientIdParam, headers: AuthorizationHeader } }, async (request, reply) => {
    return reply.headers(NO_STORE).send(await readRegistration(deps, request.params.clientId, request.headers.authorization))
  })

  app.delete(`${path}/:clientId`, { schema: { params: ClientIdParam, headers: AuthorizationHeader } }, async (request, reply) => {
    await deleteRegistration(deps, request.params.clientId, request.headers.authorization, request.ip)
    return reply.status(204).headers(NO_STORE).send()
  })

  // RFC 7592 §2.2 updates are optional; saying so beats a bare 404.
  app.put(`${path}/:clientId`, { schema: { params: ClientIdParam } }, async () => {
    throw new OAuthError('invalid_request', 'updating a registration is not supported: delete it and register again')
  })
}
