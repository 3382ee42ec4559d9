/**
 * /token (RFC 6749 §3.2): form body only → reject duplicates → authenticate the client → dispatch
 * on grant_type → reply with Cache-Control: no-store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { single, type RawParams } from '../../../oauth/params.js'
import type { TokenSet } from '../../../tokens/issue.js'
import { readClientRequest, requireFormBody } from '../../client-authentication.js'
import { OAuthErrorBody, AuthorizationHeader, OAuthParams, TokenResponse } from '../../schemas.js'
import { redeemAuthorizationCode } from './authorization-code.js'
import { issueClientCredentials } from './client-credentials.js'
import { checkClientCredentialsAllowed } from '../../../oauth/grants/client-credentials.js'
import { redeemRefreshToken } from './refresh-token.js'
import { redeemDeviceCode } from './device-code.js'
import { exchangeToken } from './token-exchange.js'
import { ENDPOINT_PATHS } from '../../../oauth/discovery.js'
import { GRANT_TYPES, type Client, type GrantType } from '../../../model/client.js'

/** What a grant handler knows of the HTTP request beyond its form parameters. */
export interface TokenRequestContext {
  /** The JWK thumbprint (RFC 7638) of a verified DPoP proof's key (RFC 9449 §4), or null without a proof. */
  readonly dpopJkt: string | null
  readonly ip: string
}

export type GrantResponse = TokenSet & { refresh_token?: string; issued_token_type?: string }

export type GrantHandler = (deps: Deps, client: Client, params: RawParams, context: TokenRequestContext) => Promise<GrantResponse>

export const tokenRoutes: FastifyPluginAsyncTypebox<{ deps: Deps; grants?: Partial<Record<GrantType, GrantHandler>> }> = async (
  app,
  { deps, grants = {} },
) => {
  const handlers: Partial<Record<GrantType, GrantHandler>> = {
    authorization_code: redeemAuthorizationCode,
    refresh_token: redeemRefreshToken,
    client_credentials: issueClientCredentials,
    'urn:ietf:params:oauth:grant-type:device_code': redeemDeviceCode,
    'urn:ietf:params:oauth:grant-type:token-exchange': exchangeToken,
    ...grants,
  }

  const tokenUrl = `${deps.config.issuer}${ENDPOINT_PATHS.token}`
  app.post(
    '/token',
    {
      // Response schemas serialise only the declared fields: nothing internal can leak.
      schema: { body: OAuthParams, headers: AuthorizationHeader, response: { 200: TokenResponse, '4xx': OAuthErrorBody } },
      preValidation: requireFormBody,
    },
    async (request, reply) => {
      const { params, client } = await readClientRequest(deps, request)
      const grantType = single(params, 'grant_type')
      if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is missing')
      const handler = (GRANT_TYPES as readonly string[]).includes(grantType) ? handlers[grantType as GrantType] : undefined
      if (!handler) throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`)
      if (!client.grantTypes.includes(grantType as GrantType))
        throw new OAuthError('unauthorized_client', `client may not use ${grantType}`)
      if (grantType === 'client_credentials') checkClientCredentialsAllowed(client)
      // RFC 9449 §5: a proof binds what this request issues to the client's key.
      const dpopJkt = await deps.dpop.verify({ header: request.headers['dpop'], method: 'POST', url: tokenUrl, status: 400 })
      if (dpopJkt === null && client.requireDpop)
        throw new OAuthError('invalid_dpop_proof', 'this client must send a DPoP proof (RFC 9449)', { dpopNonce: deps.dpop.nonce() })
      const tokens = await handler(deps, client, params, { dpopJkt, ip: request.ip })
      deps.metrics?.tokenIssued(grantType as GrantType)
      const nonce = deps.dpop.nonce()
      if (nonce !== undefined) reply.header('dpop-nonce', nonce)
      return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(tokens)
    },
  )
}
