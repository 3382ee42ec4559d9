import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { recordFailures } from '../throttle/guard.js'
import { clientAuthenticationRules } from '../throttle/rules.js'
import { OAuthError } from '../errors/oauth-error.js'
import { authenticateClient, readClientCredentials } from '../oauth/client-auth.js'
import { rejectDuplicates, single, type RawParams } from '../oauth/params.js'
import type { Client } from '../model/client.js'
import { isUrlClientId } from '../clients/directory.js'

/** RFC 6749 §3.2: token-style endpoints take application/x-www-form-urlencoded bodies only. */
export async function requireFormBody(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded')
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
}

const FAILED = 'client authentication failed'

/**
 * Reads and checks the client credentials of a token, revocation or introspection request.
 * A correct secret is never refused (docs/security.md §H); failures are counted per
 * (client_id, address) and per address, and only failing requests see the block (429).
 */
export async function authenticateRequestClient(
  deps: Deps,
  authorization: string | undefined,
  params: RawParams,
  ip: string,
): Promise<Client> {
  const credentials = readClientCredentials({
    authorization,
    clientId: single(params, 'client_id'),
    clientSecret: single(params, 'client_secret'),
    assertionType: single(params, 'client_assertion_type'),
    assertion: single(params, 'client_assertion'),
  })
  // A client_id URL: its metadata document is fetched (or its cached copy used) first.
  if (isUrlClientId(credentials.clientId)) await deps.clients.find(credentials.clientId)
  const rules = clientAuthenticationRules(deps.config, credentials.clientId, ip)
  // The client and the block of its keys in one statement: these endpoints take the most requests.
  const { client, blockedUntil } = await deps.repos.clientAuthentication.find(credentials.clientId, [rules[0].key, rules[1].key])
  let result = authenticateClient(credentials, client, deps.clock.now())
  if (result.ok && credentials.method === 'private_key_jwt') {
    const problem = await deps.clients.verifyAssertion(result.client, credentials.assertion!)
    if (problem !== null) {
      deps.log.info({ event: 'client_assertion_refused', clientId: result.client.id, problem }, 'client assertion refused')
      result = { ok: false, reason: 'bad_assertion' }
    }
  }
  if (result.ok) return result.client
  // A public client that sends a secret is misconfigured, not guessing: refused, never counted.
  if (result.reason === 'secret_for_public_client')
    throw new OAuthError('invalid_client', FAILED, { detail: 'public client sent a secret' })
  const wait = blockedUntil === null ? 0 : blockedUntil - deps.clock.now()
  if (wait > 0) {
    await deps.audit.record(
      'throttled',
      { clientId: credentials.clientId.slice(0, 100), ip, detail: { keys: ['client-auth'] } },
      'client authentication blocked after repeated failures',
    )
    // RFC 6749 §5.2 code: the credentials are wrong; 429 and Retry-After say when to try again.
    throw new OAuthError('invalid_client', 'too many failed client authentications from this address; try again later', {
      status: 429,
      retryAfterSeconds: wait,
    })
  }
  await deps.audit.record(
    'client_auth_failure',
    { clientId: credentials.clientId.slice(0, 100), ip, detail: { reason: result.reason } },
    'client authentication failed',
  )
  await recordFailures(deps, rules)
  throw new OAuthError('invalid_client', FAILED, { detail: result.reason })
}

/** The common start of token, revocation and introspection requests: one form, one authenticated client. */
export async function readClientRequest(deps: Deps, request: FastifyRequest): Promise<{ params: RawParams; client: Client }> {
  const params = request.body as RawParams
  rejectDuplicates(params)
  return { params, client: await authenticateRequestClient(deps, request.headers.authorization, params, request.ip) }
}
