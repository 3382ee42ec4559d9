/**
 * Verifying tokens we signed ourselves. The algorithm is pinned to RS256 and the key comes only
 * from our own store by kid: `jku`, `x5u` and `jwk` headers are never consulted (RFC 8725 §3.1).
 */
import type { KeyObject } from 'node:crypto'
import type { PresentedAccessToken } from '../db/repositories/access-tokens.js'
import { errors, jwtVerify, type JWTPayload, type JWTHeaderParameters } from 'jose'
import type { KeyStore } from '../keys/key-store.js'
import { TOKEN_TYP, type TokenKind } from './token-typ.js'
import type { VerifiedTokenCache } from './verified-tokens.js'

export class TokenInvalid extends Error {
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options)
    this.name = 'TokenInvalid'
  }
}

export interface VerifyOptions {
  readonly keys: KeyStore
  readonly issuer: string
  readonly now: number
  readonly audience?: string
  /** Accept expired tokens (id_token_hint at logout may be expired). */
  readonly allowExpired?: boolean
  /** Access tokens: remember verified signatures (verified-tokens.ts). */
  readonly cache?: VerifiedTokenCache
}

export interface VerifiedAccessToken extends JWTPayload {
  readonly sub: string
  readonly jti: string
  readonly client_id: string
  readonly scope: string
  readonly exp: number
  readonly iat: number
}

/** What the revocation check needs of a verified access token (db/repositories/access-tokens.ts). */
export const presentedToken = (claims: VerifiedAccessToken): PresentedAccessToken => ({
  jti: claims.jti,
  clientId: claims.client_id,
  expiresAt: claims.exp,
})

interface Verified {
  readonly payload: JWTPayload
  readonly kid: string
  readonly key: KeyObject
}

async function verifyOwnJwt(token: string, kind: TokenKind, options: VerifyOptions): Promise<Verified> {
  if (token.length > 8192) throw new TokenInvalid('token too long')
  let used: { kid: string; key: KeyObject } | undefined
  try {
    const { payload } = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        const key = options.keys.verificationKey(header.kid)
        if (!key) throw new TokenInvalid('unknown or retired signing key')
        used = { kid: header.kid!, key }
        return key
      },
      {
        algorithms: ['RS256'],
        issuer: options.issuer,
        typ: TOKEN_TYP[kind],
        currentDate: new Date((options.allowExpired ? 0 : options.now) * 1000),
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
        requiredClaims: ['exp', 'iat', 'sub'],
      },
    )
    // jose resolved the key before verifying: `used` is set whenever verification succeeded.
    return { payload, ...used! }
  } catch (error) {
    if (error instanceof TokenInvalid) throw error
    if (error instanceof errors.JOSEError) throw new TokenInvalid(error.code, { cause: error })
    throw new TokenInvalid('malformed token', { cause: error })
  }
}

export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<VerifiedAccessToken> {
  const { cache, audience, keys, now } = options
  const remembered = cache?.get(token, audience, keys, now)
  if (remembered !== undefined) return remembered
  const { payload, kid, key } = await verifyOwnJwt(token, 'access_token', options)
  for (const claim of ['jti', 'client_id', 'scope'] as const) {
    if (typeof payload[claim] !== 'string') throw new TokenInvalid(`missing ${claim}`)
  }
  const claims = payload as VerifiedAccessToken
  cache?.remember(token, audience, claims, kid, key)
  return claims
}

export async function verifyIdToken(token: string, options: VerifyOptions): Promise<JWTPayload & { sub: string }> {
  return (await verifyOwnJwt(token, 'id_token', options)).payload as JWTPayload & { sub: string }
}
