/** A client's DPoP key (RFC 9449), making proofs the way a client library does, or wrongly on purpose. */
import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { accessTokenThumbprint } from '../../src/oauth/dpop.js'

export interface ProofOptions {
  readonly method?: string
  readonly url: string
  readonly accessToken?: string
  readonly nonce?: string
  readonly iat?: number
  readonly jti?: string
  /** Header overrides (typ, alg, jwk) to make a broken proof. */
  readonly header?: Record<string, unknown>
}

export class DpopKey {
  private constructor(
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    readonly thumbprint: string,
    readonly alg: string,
  ) {}

  static async generate(alg = 'ES256'): Promise<DpopKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const jwk = await exportJWK(publicKey)
    return new DpopKey(privateKey, jwk, await calculateJwkThumbprint(jwk, 'sha256'), alg)
  }

  proof(options: ProofOptions, now = Math.floor(Date.now() / 1000)): Promise<string> {
    const payload: Record<string, unknown> = {
      jti: options.jti ?? randomUUID(),
      htm: options.method ?? 'POST',
      htu: options.url,
      iat: options.iat ?? now,
      ...(options.accessToken !== undefined ? { ath: accessTokenThumbprint(options.accessToken) } : {}),
      ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg: this.alg, typ: 'dpop+jwt', jwk: this.publicJwk, ...options.header })
      .sign(this.privateKey)
  }
}
