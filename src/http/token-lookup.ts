/**
 * Recognising a presented token at /revoke and /introspect: a refresh token (tokens/refresh.ts) or
 * one of our own signed access tokens. `token_type_hint` only changes the order of the lookups.
 */
import type { Deps } from '../deps.js'
import { findRefreshToken } from '../tokens/refresh.js'
import { TokenInvalid, verifyAccessToken, type VerifiedAccessToken } from '../tokens/verify.js'
import type { Grant } from '../model/grant.js'
import type { PresentedRefreshToken } from '../oauth/grants/refresh-token.js'

export type PresentedToken =
  | { readonly kind: 'refresh_token'; readonly token: PresentedRefreshToken; readonly grant: Grant | undefined }
  | { readonly kind: 'access_token'; readonly claims: VerifiedAccessToken }

async function asRefreshToken(deps: Deps, raw: string): Promise<PresentedToken | undefined> {
  if (raw.length > 256) return undefined
  const found = await findRefreshToken(deps, raw)
  return found ? { kind: 'refresh_token', token: found.presented, grant: found.grant } : undefined
}

async function asAccessToken(deps: Deps, raw: string): Promise<PresentedToken | undefined> {
  if (!raw.includes('.')) return undefined
  try {
    // Expired or foreign-signed tokens are simply not recognised: nothing to revoke, not active.
    return {
      kind: 'access_token',
      claims: await verifyAccessToken(raw, {
        keys: deps.keys,
        issuer: deps.config.issuer,
        now: deps.clock.now(),
        cache: deps.verifiedTokens,
      }),
    }
  } catch (error) {
    if (error instanceof TokenInvalid) return undefined
    throw error
  }
}

export async function identifyToken(deps: Deps, raw: string, hint: string | undefined): Promise<PresentedToken | undefined> {
  const order = hint === 'refresh_token' ? [asRefreshToken, asAccessToken] : [asAccessToken, asRefreshToken]
  for (const lookup of order) {
    const found = await lookup(deps, raw)
    if (found) return found
  }
  return undefined
}
