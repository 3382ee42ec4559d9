import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { assertNotBlockedUntil, failurePolicy, recordFailures } from '../throttle.js'
import { OAuthError } from '../errors/oauth-error.js'
import type { Client } from '../oauth/client.js'
import { authenticateClient, readClientCredentials } from '../oauth/client-auth.js'
import { rejectDuplicates, single, type RawParams } from '../oauth/params.js'

/** Client secrets are 256-bit random: ten wrong ones in a row are an attack, not a typo. */
const CLIENT_AUTH_FAILURES = 10

/** RFC 6749 §3.2: token-style endpoints take application/x-www-form-urlencoded bodies only. */
export async function requireFormBody(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
}

/** Reads and checks the client credentials of a token, revocation or introspection request. */
export async function authenticateRequestClient(deps: Deps, authorization: string | undefined, params: RawParams, ip: string): Promise<Client> {
  const credentials = readClientCredentials(authorization, single(params, 'client_id'), single(params, 'client_secret'))
  // Failed authentications are counted per client and per IP (shared by every instance).
  const policy = failurePolicy(CLIENT_AUTH_FAILURES)
  const clientKey = `client-auth:${credentials.clientId.slice(0, 200)}`
  const ipKey = `client-auth-ip:${ip}`
  const rules = [
    { key: clientKey, policy },
    { key: ipKey, policy },
  ]
  const { client, blockedUntil } = await deps.repos.clientAuthentication.find(credentials.clientId, [clientKey, ipKey])
  await assertNotBlockedUntil(deps, blockedUntil, rules, ip)
  try {
    return authenticateClient(credentials, client)
  } catch (error) {
    if (error instanceof OAuthError && error.error === 'invalid_client') {
      await deps.audit.record('client_auth_failure', { clientId: credentials.clientId.slice(0, 100), ip }, 'client authentication failed')
      await recordFailures(deps, rules)
    }
    throw error
  }
}

/** The common start of token, revocation and introspection requests: one form, one authenticated client. */
export async function readClientRequest(deps: Deps, request: FastifyRequest): Promise<{ params: RawParams; client: Client }> {
  const params = request.body as RawParams
  rejectDuplicates(params)
  return { params, client: await authenticateRequestClient(deps, request.headers.authorization, params, request.ip) }
}
