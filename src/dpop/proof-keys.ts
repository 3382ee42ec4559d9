/**
 * The public keys of DPoP proofs, imported once per key. A client signs every proof with the same
 * key (RFC 9449 §2: the token is bound to it), and importing that key from the proof's `jwk`
 * header (jose's EmbeddedJWK) and hashing its thumbprint (RFC 7638) cost more than verifying the
 * signature: WebCrypto's import of an EC key, and a digest that goes through libuv's pool.
 *
 * Remembered by the exact `jwk` member and `alg` of the header: the imported key is a function of
 * those two alone, and jose checks them (public key, `use`, `alg`) on the first import exactly as
 * it did before. A header that differs in any member is a different entry, so no proof is ever
 * verified with a key other than the one its own header names.
 */
import { LruMap } from '../lru-map.js'
import { calculateJwkThumbprint, EmbeddedJWK, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose'

/** Distinct proof keys kept: one per active DPoP client instance, with room to spare. */
const KEPT_PROOF_KEYS = 1_000

export interface ProofKey {
  readonly key: CryptoKey
  /** RFC 7638 SHA-256 thumbprint: what a bound token's `cnf.jkt` names. */
  readonly jkt: string
}

export class ProofKeys {
  readonly #kept: LruMap<string, Promise<ProofKey>>

  constructor(limit = KEPT_PROOF_KEYS) {
    this.#kept = new LruMap(limit)
  }

  /** jose's key resolver for jwtVerify: the key of the proof's own `jwk` header. */
  resolve(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<ProofKey> {
    // Anything unusual (no jwk object, no alg) goes to jose, which refuses it with its own error.
    if (typeof header.jwk !== 'object' || header.jwk === null || typeof header.alg !== 'string') return this.#import(header, token)
    const name = `${header.alg}\n${JSON.stringify(header.jwk)}`
    const kept = this.#kept.get(name)
    if (kept !== undefined) return kept
    const importing = this.#import(header, token)
    // A key jose refuses is not kept: the next proof with it is refused the same way, at its cost.
    importing.catch(() => this.#kept.delete(name))
    this.#kept.set(name, importing)
    return importing
  }

  /** How many keys are kept (tests). */
  get size(): number {
    return this.#kept.size
  }

  async #import(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<ProofKey> {
    const key = await EmbeddedJWK(header, token)
    return { key, jkt: await calculateJwkThumbprint(header.jwk!, 'sha256') }
  }
}
