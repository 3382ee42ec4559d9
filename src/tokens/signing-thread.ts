/**
 * A signing thread (see signing-threads.ts): compact JWS by fast-jwt, which signs synchronously
 * with node:crypto, so a signature occupies this thread and nothing of libuv's shared pool.
 */
import { parentPort } from 'node:worker_threads'
import { createSigner } from 'fast-jwt'
import type { KeyObject } from 'node:crypto'
import { KEPT_KEYS, type SigningReply, type SigningRequest } from './signing-protocol.js'

type Signer = (payload: Record<string, unknown>) => string

interface HeldKey {
  readonly kid: string
  readonly alg: string
  readonly key: KeyObject
  /** One signer per typ: fast-jwt serialises the header once per signer. */
  readonly signers: Map<string, Signer>
}

const keys = new Map<number, HeldKey>()

function signerFor(handle: number, typ: string): Signer {
  const held = keys.get(handle)
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

parentPort?.on('message', (message: SigningRequest) => {
  if (message.op === 'key') {
    keys.set(message.handle, { kid: message.kid, alg: message.alg, key: message.key, signers: new Map() })
    if (keys.size > KEPT_KEYS) keys.delete(keys.keys().next().value as number)
    return
  }
  let reply: SigningReply
  try {
    reply = { id: message.id, token: signerFor(message.handle, message.typ)(message.payload) }
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) }
  }
  parentPort?.postMessage(reply)
})
