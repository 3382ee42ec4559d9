/** A signing thread (see signing-threads.ts): each message is answered by a ThreadSigner (thread-signer.ts). */
import { parentPort } from 'node:worker_threads'
import type { SigningRequest } from './signing-protocol.js'
import { ThreadSigner } from './thread-signer.js'

const signer = new ThreadSigner()

parentPort?.on('message', (message: SigningRequest) => {
  const reply = signer.answer(message)
  if (reply !== undefined) parentPort?.postMessage(reply)
})
