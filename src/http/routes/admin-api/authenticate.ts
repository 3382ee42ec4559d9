/**
 * Who calls the admin API: the bearer of an access token Tessera signed for the audience
 * `ISSUER/admin/api` (oauth/admin-api.ts), obtained with client_credentials by a client an
 * operator gave admin scopes. Checked as /userinfo checks its tokens (RFC 6750, RFC 9068, RFC 9449
 * §7): the header only, our own keys and `at+jwt` only, the proof of a DPoP-bound token, revocation
 * by `jti`; then that the client still exists and still has the scope (taking a scope away, or
 * deleting the client, takes effect at once, not when its tokens expire).
 */
import type { FastifyRequest } from 'fastify'
import { presentedToken } from '../../../tokens/verify.js'
import type { Deps } from '../../../deps.js'
import { verifyPresentedAccessToken } from '../../bearer-token.js'
import { challenge, Problem } from '../../../errors/problem.js'
import type { Actor } from '../../../model/actor.js'
import { adminApiIdentifier, adminScopesOf, type AdminScope } from '../../../oauth/admin-api.js'

export interface AdminCaller {
  readonly actor: Actor
  /** The admin scopes the token carries and the client still has. */
  readonly scopes: readonly AdminScope[]
}

/** Authenticates the request and checks it may do what needs `required` (null: any admin scope). */
export async function authenticateAdminCaller(
  deps: Pick<Deps, 'config' | 'keys' | 'clock' | 'repos' | 'dpop' | 'verifiedTokens'>,
  request: FastifyRequest,
  required: AdminScope | null,
): Promise<AdminCaller> {
  const { claims, scheme, invalid } = await verifyPresentedAccessToken(deps, request, {
    audience: adminApiIdentifier(deps.config.issuer),
    url: `${deps.config.issuer}${request.url.split('?')[0]}`,
    missing: 'a Bearer access token for the admin API is required',
    notValid: 'the access token is not valid for the admin API',
  })
  const now = deps.clock.now()
  const live = await deps.repos.accessTokens.findLive(presentedToken(claims), now)
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
        'www-authenticate': challenge(scheme, { error: 'insufficient_scope', description, scope: required }),
      },
    })
  }
  return { actor: { kind: 'client', clientId: client.id }, scopes }
}
