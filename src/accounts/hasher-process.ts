/**
 * argon2id in a child process at background CPU priority. A login costs tens of milliseconds of
 * one core by design; run on the server's own thread pool, a burst of logins competes with the
 * event loop for the cores and every other request — JWKS, tokens — waits behind it. In a
 * process of its own (nice 10, hasher-worker.ts) hashing takes only the CPU time the server does
 * not want, and its memory (19 MiB per hash) is not the server's. Started on first use; a crashed
 * process fails the hashes in flight and is started again by the next one.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import argon2 from 'argon2'
import type { HasherCall, HasherReply, HasherRequest } from './hasher-protocol.js'
import { concurrencyLimit, type Argon2Parameters, type PasswordHasher } from './password-hasher.js'
import { workerEntry } from '../worker-entry.js'

const WORKER = workerEntry(import.meta.url, 'hasher-worker')

export class HasherUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HasherUnavailable'
  }
}

interface Pending {
  readonly resolve: (value: string | boolean) => void
  readonly reject: (error: Error) => void
}

export interface BackgroundHasher extends PasswordHasher {
  /** Ends the hashing process; hashes still in flight fail. */
  close(): Promise<void>
  /** The hashing process, once started (for monitoring). */
  processId(): Promise<number | undefined>
}

export function backgroundArgon2Hasher(parameters: Argon2Parameters, options: { concurrency?: number } = {}): BackgroundHasher {
  // One hash per core at a time: at background priority they may fill every core.
  const limited = concurrencyLimit(options.concurrency ?? Math.max(1, Math.min(availableParallelism(), 4)))
  const pending = new Map<number, Pending>()
  let nextId = 1
  let worker: Promise<ChildProcess> | undefined

  const failAll = (error: Error) => {
    for (const request of pending.values()) request.reject(error)
    pending.clear()
  }

  const start = (): Promise<ChildProcess> => {
    const child = fork(WORKER.url, [], {
      execArgv: WORKER.execArgv,
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    // Never what keeps the server (or a CLI command) alive, except while it starts or a hash is
    // in flight: then its channel and its exit are waited for.
    const idle = () => {
      child.unref()
      child.channel?.unref()
    }
    const started = new Promise<ChildProcess>((resolve, reject) => {
      const gone = (reason: string) => {
        // A newer process may already have replaced this one.
        if (worker === started) worker = undefined
        const error = new HasherUnavailable(`password hashing process ${reason}`)
        reject(error)
        failAll(error)
      }
      child.on('message', (message: HasherReply | { ready: true }) => {
        if ('ready' in message) {
          if (pending.size === 0) idle()
          return resolve(child)
        }
        const request = pending.get(message.id)
        if (!request) return
        pending.delete(message.id)
        if (pending.size === 0) idle()
        if (message.ok) request.resolve(message.value)
        else request.reject(new HasherUnavailable(`password hashing failed: ${message.error}`))
      })
      // Every error (a failed start, a write to a process that just died) is handled here: an
      // unhandled 'error' event would end the server.
      child.on('error', (error) => gone(`failed: ${error.message}`))
      child.once('exit', (code, signal) => gone(`exited (${signal ?? code})`))
    })
    return started
  }

  async function call(request: HasherCall): Promise<string | boolean> {
    const starting = (worker ??= start())
    const child = await starting
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      child.ref()
      child.channel?.ref()
      child.send({ ...request, id } satisfies HasherRequest, (error) => {
        if (!error) return
        // The process died before its exit was reported: the next hash starts another one.
        if (worker === starting) worker = undefined
        child.kill('SIGKILL')
        if (pending.delete(id)) reject(new HasherUnavailable(`password hashing process: ${error.message}`))
      })
    })
  }

  const rehashOptions = { type: argon2.argon2id as 0 | 1 | 2, ...parameters }
  return {
    hash: (password) => limited(async () => (await call({ op: 'hash', password, parameters })) as string),
    verify: (hash, password) => limited(async () => (await call({ op: 'verify', password, hash })) === true),
    // Reading the parameters out of a hash string: cheap, done here.
    needsRehash: (hash) => argon2.needsRehash(hash, rehashOptions),
    async processId() {
      return (await worker?.catch(() => undefined))?.pid
    },
    async close() {
      const running = worker
      worker = undefined
      if (!running) return
      const child = await running.catch(() => undefined)
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await exited
      clearTimeout(timer)
    },
  }
}
