/**
 * refresh_token grant: every use rotates the token; a rotated token presented again revokes the
 * whole family and its access tokens (RFC 9700 §4.14.2). Of concurrent uses exactly one wins.
 */
import type { Deps } from '../../../deps.js'
import { OAuthError } from '../../../errors/oauth-error.js'
import { checkRefreshToken, lostRotationCause, refreshedScope } from '../../../oauth/grants/refresh-token.js'
import { single, type RawParams } from '../../../oauth/params.js'
import { issueTokenSet, type TokenSet } from '../../../tokens/issue.js'
import { accessTarget } from '../../../apis/resources.js'
import { parseResources, tokenResource } from '../../../oauth/resource.js'
import { findRefreshToken, rotateRefreshToken } from '../../../tokens/refresh.js'
import type { Client } from '../../../model/client.js'
import { checkDpopBinding } from '../../../oauth/dpop.js'
import type { TokenRequestContext } from './index.js'

export async function redeemRefreshToken(
  deps: Deps,
  client: Client,
  params: RawParams,
  context: TokenRequestContext,
): Promise<TokenSet & { refresh_token: string }> {
  const raw = single(params, 'refresh_token')
  if (raw === undefined) throw new OAuthError('invalid_request', 'refresh_token is missing')
  const now = deps.clock.now()
  const found = await findRefreshToken(deps, raw)
  if (found === undefined) throw new OAuthError('invalid_grant', 'the refresh token is invalid')
  const check = checkRefreshToken(found.presented, found.grant, client, now)
  if (check.kind === 'reuse') return reused(deps, client, check.grant.id, now)
  const family = check.grant
  // Checked before rotation: a thief without the key does not rotate the owner's token away.
  checkDpopBinding(family.dpopJkt, context.dpopJkt, 'the refresh token')
  const scope = refreshedScope(family.scope, single(params, 'scope'))
  const user = await deps.repos.users.findById(family.userId)
  if (!user || user.disabledAt !== null) {
    await deps.repos.grants.revoke(family.id, now)
    throw new OAuthError('invalid_grant', 'the user is no longer active')
  }
  // RFC 8707 §2.2: the resource is checked (and the client's permission for it judged again, as
  // it stands now) before rotation, as a code is before redemption: an invalid_target leaves the
  // refresh token usable, where a rotated one presented again would count as reuse and end the grant.
  const resource = tokenResource(family.resources, parseResources(params['resource']))
  const access = await accessTarget(deps, resource, scope, family.resources, client)
  const next = await rotateRefreshToken(deps, found, family.expiresAt)
  if (next === null) {
    // Lost to a concurrent request: reuse when it rotated the same token first, not when it revoked the grant.
    const cause = lostRotationCause(family.refresh, await deps.repos.grants.find(family.id))
    if (cause === 'ended') throw new OAuthError('invalid_grant', 'the refresh token is invalid', { detail: 'family revoked' })
    return reused(deps, client, family.id, now)
  }
  // OIDC Core §12.2: same iss/sub/aud/azp and the original auth_time, new iat, no nonce.
  const tokens = await issueTokenSet(deps, {
    clientId: client.id,
    user,
    grantId: family.id,
    scope,
    authTime: family.authTime,
    nonce: null,
    amr: family.amr,
    acr: family.acr ?? null,
    access,
    dpopJkt: context.dpopJkt,
    // The same sid as the grant's first ID token: the session it came from (OIDC Core §12.2 keeps the rest).
    sid: family.sid,
  })
  return { ...tokens, refresh_token: next }
}

async function reused(deps: Deps, client: Client, grantId: string, now: number): Promise<never> {
  await deps.repos.grants.revoke(grantId, now)
  await deps.audit.record('refresh_reuse', { clientId: client.id, detail: { grantId } }, 'rotated refresh token reused: family revoked')
  throw new OAuthError('invalid_grant', 'the refresh token is invalid')
}
