/**
 * /device/authorization (RFC 8628 §3.1): form body only → reject duplicates → authenticate the
 * client as /token does (a public client names itself) → the client must be registered for the
 * device grant → store the request → device_code, user_code and where the user goes, no-store.
 * For devices, not browsers: no CORS.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../deps.js'
import { OAuthError } from '../../errors/oauth-error.js'
import { startDeviceAuthorization } from '../../devices/authorization.js'
import { ENDPOINT_PATHS } from '../../oauth/discovery.js'
import { DEVICE_CODE_GRANT } from '../../model/client.js'
import { readClientRequest, requireFormBody } from '../client-authentication.js'
import { AuthorizationHeader, OAuthErrorBody, OAuthParams } from '../schemas.js'

const DeviceAuthorizationResponse = Type.Object({
  device_code: Type.String(),
  user_code: Type.String(),
  verification_uri: Type.String(),
  verification_uri_complete: Type.String(),
  expires_in: Type.Integer(),
  interval: Type.Integer(),
})

export const deviceAuthorizationRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    ENDPOINT_PATHS.deviceAuthorization,
    {
      schema: { body: OAuthParams, headers: AuthorizationHeader, response: { 200: DeviceAuthorizationResponse, '4xx': OAuthErrorBody } },
      preValidation: requireFormBody,
      // A public client proves nothing, and each request stores a row: a per-address flood guard.
      config: { rateLimit: { max: deps.config.deviceAuthorizationRateLimit, timeWindow: 10 * 60_000 } },
    },
    async (request, reply) => {
      const { params, client } = await readClientRequest(deps, request)
      if (!client.grantTypes.includes(DEVICE_CODE_GRANT))
        throw new OAuthError('unauthorized_client', 'client may not use the device authorization grant')
      const response = await startDeviceAuthorization(deps, client, params)
      return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(response)
    },
  )
}
