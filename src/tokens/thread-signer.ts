/**
 * What a signing thread does with each message (signing-thread.ts wires it to the port): compact
 * JWS by fast-jwt, which signs synchronously with node:crypto, so a signature occupies the thread
 * and nothing of libuv's shared pool.
 */
import { createSigner } from 'fast-jwt'
import type { KeyObject } from 'node:crypto'
import { KEPT_KEYS, type SigningReply, type SigningRequest } from './signing-protocol.js'
import { withAccessTokenHash } from '../oauth/claims.js'
import { TOKEN_TYP } from './token-typ.js'

type Signer = (payload: Record<string, unknown>) => string

interface HeldKey {
  readonly kid: string
  readonly alg: string
  readonly key: KeyObject
  /** One signer per typ: fast-jwt serialises the header once per signer. */
  readonly signers: Map<string, Signer>
}

export class ThreadSigner {
  readonly #keys = new Map<number, HeldKey>()

  /** The reply to send, or undefined for a message that needs none (a key to hold). */
  answer(message: SigningRequest): SigningReply | undefined {
    if (message.op === 'key') {
      this.#keys.set(message.handle, { kid: message.kid, alg: message.alg, key: message.key, signers: new Map() })
      if (this.#keys.size > KEPT_KEYS) this.#keys.delete(this.#keys.keys().next().value as number)
      return undefined
    }
    try {
      if (message.op === 'sign') return { id: message.id, token: this.#signerFor(message.handle, message.typ)(message.payload) }
      const accessToken = this.#signerFor(message.handle, TOKEN_TYP.access_token)(message.accessClaims)
      const idToken = this.#signerFor(message.handle, TOKEN_TYP.id_token)(withAccessTokenHash(message.idClaims, accessToken))
      return { id: message.id, accessToken, idToken }
    } catch (error) {
      return { id: message.id, error: error instanceof Error ? error.message : String(error) }
    }
  }

  #signerFor(handle: number, typ: string): Signer {
    const held = this.#keys.get(handle)
    if (!held) throw new Error(`no key ${handle} on this signing thread`)
    let signer = held.signers.get(typ)
    if (!signer) {
      const pem = held.key.export({ format: 'pem', type: 'pkcs8' }) as string
      // The claims arrive complete (iat included, which fast-jwt would otherwise add): nothing is added.
      signer = createSigner({ key: pem, algorithm: held.alg as 'RS256', kid: held.kid, header: { alg: held.alg, typ } }) as Signer
      held.signers.set(typ, signer)
    }
    return signer
  }
}
