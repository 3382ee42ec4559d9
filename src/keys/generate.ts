import { generateKeyPair, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'

const generateRsa = promisify(generateKeyPair)

/** Signing algorithms Tessera can produce. Only RS256 today; ES256/EdDSA would add a generator here. */
export type SigningAlg = 'RS256'

export interface GeneratedKey {
  readonly kid: string
  readonly alg: SigningAlg
  readonly publicJwk: JWK
  readonly privatePkcs8: Buffer
}

/** RSA key generation runs in libuv's thread pool, not on the event loop. kid = RFC 7638 thumbprint. */
export async function generateSigningKey(alg: SigningAlg, modulusLength: number): Promise<GeneratedKey> {
  const { publicKey, privateKey } = (await generateRsa('rsa', { modulusLength, publicExponent: 0x10001 })) as { publicKey: KeyObject; privateKey: KeyObject }
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  return {
    kid,
    alg,
    publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, use: 'sig', alg },
    privatePkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
  }
}
