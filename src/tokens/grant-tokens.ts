/**
 * The tokens of a grant just created by redeeming something a user approved (an authorization
 * code, a device code): the user must still be active (else the grant is revoked at once), then
 * an access token for the grant's resource, an ID token for `openid`, and the grant's first refresh
 * token when it is offline (stored with the grant: tokens/refresh.ts).
 */
import type { Deps } from '../deps.js'
import { OAuthError } from '../errors/oauth-error.js'
import type { Grant } from '../model/grant.js'
import { accessTarget } from '../apis/resources.js'
import { issueTokenSet, type TokenSet } from './issue.js'

export interface NewGrantTokens {
  readonly grant: Grant
  /** The API this token request is for (RFC 8707), already checked against the grant; null: Tessera itself. */
  readonly resource: string | null
  readonly nonce: string | null
  /** The key of this request's DPoP proof, binding the access token (RFC 9449). */
  readonly dpopJkt: string | null
  /** The public id of the approving session, for the ID token's `sid`; null: none. */
  readonly sid: string | null
  /** The grant's first refresh token, already stored with it; null: the grant is not offline. */
  readonly refreshToken: string | null
}

export async function issueNewGrantTokens(deps: Deps, input: NewGrantTokens): Promise<TokenSet & { refresh_token?: string }> {
  const { grant } = input
  const user = await deps.repos.users.findById(grant.userId)
  if (!user || user.disabledAt !== null) {
    await deps.repos.grants.revoke(grant.id, deps.clock.now())
    throw new OAuthError('invalid_grant', 'the user is no longer active')
  }
  const access = await accessTarget(deps, input.resource, grant.scope, grant.resources)
  const tokens = await issueTokenSet(deps, {
    clientId: grant.clientId,
    user,
    grantId: grant.id,
    scope: grant.scope,
    authTime: grant.authTime,
    nonce: input.nonce,
    amr: grant.amr,
    acr: grant.acr ?? null,
    access,
    dpopJkt: input.dpopJkt,
    sid: input.sid,
  })
  return input.refreshToken === null ? tokens : { ...tokens, refresh_token: input.refreshToken }
}
