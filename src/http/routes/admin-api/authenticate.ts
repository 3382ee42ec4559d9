/**
 * Who calls the admin API: the bearer of an access token Tessera signed for the audience
 * `ISSUER/admin/api` (oauth/admin-api.ts), obtained with client_credentials by a client an
 * operator gave admin scopes. Checked as /userinfo checks its tokens (RFC 6750, RFC 9068, RFC 9449
 * §7): the header only, our own keys and `at+jwt` only, the proof of a DPoP-bound token, revocation
 * by `jti`; then that the client still exists and still has the scope (taking a scope away, or
 * deleting the client, takes effect at once, not when its tokens expire).
 */
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { challenge, Problem } from '../../../errors/problem.js'
import type { Actor } from '../../../model/actor.js'
import { adminApiIdentifier, adminScopesOf, type AdminScope } from '../../../oauth/admin-api.js'
import { TokenInvalid, verifyAccessToken } from '../../../tokens/verify.js'

export interface AdminCaller {
  readonly actor: Actor
  /** The admin scopes the token carries and the client still has. */
  readonly scopes: readonly AdminScope[]
}

const TOKEN = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i

/** Authenticates the request and checks it may do what needs `required` (null: any admin scope). */
export async function authenticateAdminCaller(
  deps: Pick<Deps, 'config' | 'keys' | 'clock' | 'repos' | 'dpop'>,
  request: FastifyRequest,
  required: AdminScope | null,
): Promise<AdminCaller> {
  const match = TOKEN.exec(request.headers.authorization ?? '')
  if (!match) throw new OAuthError('invalid_token', 'a Bearer access token for the admin API is required')
  const dpopScheme = match[1]!.toLowerCase() === 'dpop'
  const token = match[2]!
  const invalid = (detail: string) =>
    new OAuthError('invalid_token', 'the access token is not valid for the admin API', {
      detail,
      challenge: dpopScheme ? 'DPoP' : 'Bearer',
    })
  const now = deps.clock.now()
  const audience = adminApiIdentifier(deps.config.issuer)
  let claims
  try {
    claims = await verifyAccessToken(token, { keys: deps.keys, issuer: deps.config.issuer, audience, now })
  } catch (error) {
    if (error instanceof TokenInvalid) throw invalid(error.reason)
    throw error
  }
  // RFC 9449 §7: a bound token only with the DPoP scheme and a proof of its key for this request.
  const boundTo = (claims['cnf'] as { jkt?: unknown } | undefined)?.jkt
  if (typeof boundTo === 'string' || dpopScheme) {
    if (!dpopScheme)
      throw new OAuthError('invalid_token', 'a DPoP-bound access token must be sent with the DPoP scheme', { challenge: 'DPoP' })
    const proved = await deps.dpop.verify({
      header: request.headers['dpop'],
      method: request.method,
      url: `${deps.config.issuer}${request.url.split('?')[0]}`,
      accessToken: token,
      status: 401,
    })
    if (proved === null) throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { status: 401, challenge: 'DPoP' })
    if (proved !== boundTo) throw invalid('the DPoP proof is for another key')
  }
  const live = await deps.repos.accessTokens.findLive(claims.jti, now)
  if (live === undefined) throw invalid('revoked')
  // Only client_credentials tokens: the client acts for itself (no user, no grant).
  if (live.grantId !== null || claims.sub !== claims.client_id) throw invalid('not a client_credentials token')
  const client = await deps.repos.clients.find(claims.client_id)
  if (!client) throw invalid('the client no longer exists')
  const held = new Set(adminScopesOf(client))
  const scopes = claims.scope.split(' ').filter((scope): scope is AdminScope => held.has(scope as AdminScope))
  if (scopes.length === 0) throw invalid('the client no longer has an admin scope')
  if (required !== null && !scopes.includes(required)) {
    const description = `this request needs the ${required} scope`
    throw new Problem(403, 'insufficient-scope', description, {
      headers: {
        'www-authenticate': challenge(dpopScheme ? 'DPoP' : 'Bearer', { error: 'insufficient_scope', description, scope: required }),
      },
    })
  }
  return { actor: { kind: 'client', clientId: client.id }, scopes }
}
