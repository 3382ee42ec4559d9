/**
 * Building and signing the JWTs Tessera issues. Claims are computed by the pure functions in
 * oauth/claims.ts; this module only adds the protected header and signs with the active key.
 */
import { createHash } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import type { SigningKey } from '../keys/key-store.js'

export type TokenKind = 'id_token' | 'access_token' | 'logout_token'

/**
 * RFC 9068 §2.1 types access tokens `at+jwt` and OpenID Connect Back-Channel Logout 1.0 §2.4
 * logout tokens `logout+jwt`, so no kind can be mistaken for another.
 */
export const TOKEN_TYP: Record<TokenKind, string> = { id_token: 'JWT', access_token: 'at+jwt', logout_token: 'logout+jwt' }

/** What signs a JWT: jose on libuv's pool, or the signing threads (signing-threads.ts). */
export interface JwtSigner {
  sign(typ: string, payload: JWTPayload, key: SigningKey): Promise<string>
  close(): Promise<void>
}

/** jose in this thread: WebCrypto, whose signatures run on libuv's pool (SIGNING_THREADS=0). */
export const joseSigner: JwtSigner = {
  sign: (typ, payload, key) => new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.key),
  close: async () => undefined,
}

export function signJwt(signer: JwtSigner, kind: TokenKind, payload: JWTPayload, key: SigningKey): Promise<string> {
  return signer.sign(TOKEN_TYP[kind], payload, key)
}

/** OIDC Core §3.1.3.6: left-most half of the SHA-256 of the access token, base64url. */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}
