/**
 * Building and signing the JWTs Tessera issues. Claims are computed by the pure functions in
 * oauth/claims.ts; this module only adds the protected header and signs with the active key.
 */
import { SignJWT, type JWTPayload } from 'jose'
import type { SigningKey } from '../keys/key-store.js'
import { withAccessTokenHash } from '../oauth/claims.js'
import { TOKEN_TYP, type TokenKind } from './token-typ.js'

export interface SignedTokenPair {
  readonly accessToken: string
  readonly idToken: string
}

/** What signs a JWT: jose on libuv's pool, or the signing threads (signing-threads.ts). */
export interface JwtSigner {
  sign(typ: string, payload: JWTPayload, key: SigningKey): Promise<string>
  /**
   * An access token, then an ID token carrying its `at_hash` (withAccessTokenHash): the second
   * depends on the first, and a signing thread signs both for one message.
   */
  signAccessAndIdToken(accessClaims: JWTPayload, idClaims: JWTPayload, key: SigningKey): Promise<SignedTokenPair>
  close(): Promise<void>
}

const joseSign = (typ: string, payload: JWTPayload, key: SigningKey): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.key)

/** jose in this thread: WebCrypto, whose signatures run on libuv's pool (SIGNING_THREADS=0). */
export const joseSigner: JwtSigner = {
  sign: joseSign,
  signAccessAndIdToken: async (accessClaims, idClaims, key) => {
    const accessToken = await joseSign(TOKEN_TYP.access_token, accessClaims, key)
    const idToken = await joseSign(TOKEN_TYP.id_token, withAccessTokenHash(idClaims, accessToken), key)
    return { accessToken, idToken }
  },
  close: async () => undefined,
}

export function signJwt(signer: JwtSigner, kind: TokenKind, payload: JWTPayload, key: SigningKey): Promise<string> {
  return signer.sign(TOKEN_TYP[kind], payload, key)
}
