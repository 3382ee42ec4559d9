/**
 * Issuing the token set for a grant: a JWT access token (no row: its jti names the grant or client
 * whose revocation ends it, model/access-token-id.ts)
 * and, for OpenID requests, an ID token whose at_hash binds the two.
 */
import type { Deps } from '../deps.js'
import { accessTokenClaims, idTokenClaims, type ActorClaim, type Subject } from '../oauth/claims.js'
import { hasScope } from '../oauth/scope.js'
import { randomId } from '../secrets.js'
import { accessTokenId } from '../model/access-token-id.js'
import { signJwt } from './sign.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { Acr } from '../oauth/acr.js'
import type { AccessTarget } from '../apis/resources.js'

export interface TokenSetInput {
  readonly clientId: string
  /** Null for client_credentials: the client is the subject. */
  readonly user: Subject | null
  readonly grantId: string | null
  readonly scope: string
  readonly authTime: number | null
  readonly nonce: string | null
  /** How the user authenticated; null for client_credentials. */
  readonly amr: readonly AuthenticationMethod[] | null
  /** The acr the authorization answered with (oauth/acr.ts acrForRequest); absent or null: what amr achieves. */
  readonly acr?: Acr | null
  /** The access token's audience, scope and lifetime (apis/resources.ts); the ID token keeps `scope`. */
  readonly access: AccessTarget
  /** A verified DPoP proof's key thumbprint: the access token is bound to that key (RFC 9449 §5). */
  readonly dpopJkt?: string | null
  /** RFC 8693 delegation: the acting client (and earlier actors). */
  readonly act?: ActorClaim
  /** The public id of the login session the grant came from: `sid` in the ID token (Back-Channel Logout §2.1). */
  readonly sid?: string | null
}

export interface TokenSet {
  readonly access_token: string
  readonly token_type: 'Bearer' | 'DPoP'
  readonly expires_in: number
  readonly scope: string
  readonly id_token?: string
}

export async function issueTokenSet(deps: Pick<Deps, 'config' | 'keys' | 'clock' | 'signer'>, input: TokenSetInput): Promise<TokenSet> {
  const { config } = deps
  const now = deps.clock.now()
  const key = deps.keys.signingKey()
  // No row is written: the jti names what the token's revocation hangs on (model/access-token-id.ts).
  const jti = accessTokenId(input.grantId, randomId())
  const accessClaims = accessTokenClaims({
    issuer: config.issuer,
    audience: input.access.audience,
    clientId: input.clientId,
    subject: input.user?.id ?? input.clientId,
    scope: input.access.scope,
    jti,
    authTime: input.authTime,
    now,
    ttl: input.access.ttl,
    ...(input.user !== null ? { roles: input.user.roles } : {}),
    ...(input.amr !== null ? { amr: input.amr, acr: input.acr ?? null } : {}),
    ...(input.act !== undefined ? { act: input.act } : {}),
    dpopJkt: input.dpopJkt ?? null,
  })
  const tokenType = input.dpopJkt ? 'DPoP' : 'Bearer'
  const answer = { token_type: tokenType, expires_in: input.access.ttl, scope: input.access.scope } as const
  if (input.user === null || !hasScope(input.scope, 'openid'))
    return { access_token: await signJwt(deps.signer, 'access_token', accessClaims, key), ...answer }
  const idClaims = idTokenClaims({
    issuer: config.issuer,
    clientId: input.clientId,
    user: input.user,
    scope: input.scope,
    authTime: input.authTime ?? now,
    nonce: input.nonce,
    now,
    ttl: config.idTokenTtl,
    amr: input.amr ?? ['pwd'],
    acr: input.acr ?? null,
    ...(input.sid ? { sessionId: input.sid } : {}),
  })
  // The ID token's at_hash is the access token's (OIDC Core §3.1.3.6): both signed in one trip.
  const { accessToken, idToken } = await deps.signer.signAccessAndIdToken(accessClaims, idClaims, key)
  return { access_token: accessToken, ...answer, id_token: idToken }
}
