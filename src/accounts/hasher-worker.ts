/**
 * The password-hashing process (see hasher-process.ts). It lowers its own CPU priority first, so
 * that argon2 — deliberately CPU- and memory-hard — only ever uses time the server's event loop
 * does not want, then answers hash and verify requests over the IPC channel.
 */
import fs from 'node:fs'
import os from 'node:os'
import argon2 from 'argon2'
import type { HasherReply, HasherRequest } from './hasher-protocol.js'

/** Background priority (nice 10): a runnable event loop at nice 0 gets about nine tenths of a core. */
const NICENESS = 10

function lowerPriority(): void {
  try {
    // Linux keeps a nice value per thread: every thread that exists now, and (inherited from this
    // main thread) every thread libuv's pool starts later, where argon2 runs.
    for (const task of fs.readdirSync('/proc/self/task')) os.setPriority(Number(task), NICENESS)
  } catch {
    try {
      os.setPriority(NICENESS)
    } catch {
      // Not permitted here: hashing still works, at normal priority.
    }
  }
}

async function answer(request: HasherRequest): Promise<HasherReply> {
  try {
    if (request.op === 'hash')
      return { id: request.id, ok: true, value: await argon2.hash(request.password, { type: argon2.argon2id, ...request.parameters }) }
    // A malformed stored hash verifies as false, never as an error the login could leak.
    return { id: request.id, ok: true, value: await argon2.verify(request.hash, request.password).catch(() => false) }
  } catch (error) {
    return { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

lowerPriority()
process.on('message', (request: HasherRequest) => {
  void answer(request).then((reply) => {
    // The server may have closed the channel while this hash ran (it is shutting down): the answer
    // has nobody to go to, and a send on a closed channel would be an uncaught 'error'.
    if (process.connected) process.send?.(reply, () => undefined)
  })
})
// The server is gone (or closed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0))
// Closed already while this process started (the server shut down at once): nothing then keeps it
// alive, and it ends by itself.
if (process.connected) process.send?.({ ready: true }, () => undefined)
