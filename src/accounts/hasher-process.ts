/**
 * argon2id in a child process at background CPU priority. A login costs tens of milliseconds of
 * one core by design; run on the server's own thread pool, a burst of logins competes with the
 * event loop for the cores and every other request — JWKS, tokens — waits behind it. In a
 * process of its own (nice 10, hasher-worker.ts) hashing takes only the CPU time the server does
 * not want, and its memory (19 MiB per hash) is not the server's. Started on first use; a crashed
 * process fails the hashes in flight and is started again by the next one.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import argon2 from 'argon2'
import type { HasherCall, HasherReply, HasherRequest } from './hasher-protocol.js'
import { concurrencyLimit, type Argon2Parameters, type PasswordHasher } from './password-hasher.js'
import { workerEntry } from '../worker-entry.js'

const WORKER = workerEntry(import.meta.url, 'hasher-worker')

/** How long close() lets the process exit by itself (its channel closed) before it is killed. */
const CLOSE_GRACE_MS = 2_000

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
  /** Ends the hashing process and resolves once it has exited; hashes in flight and later ones fail. */
  close(): Promise<void>
  /** The hashing process, once started (for monitoring). */
  processId(): Promise<number | undefined>
}

export interface BackgroundHasherOptions {
  /** Hashes at once (default: one per core, at most 4). */
  readonly concurrency?: number
  /** How long close() waits for the process to exit by itself before killing it (default 2 s). */
  readonly closeGraceMs?: number
}

/**
 * One hashing process: its own requests in flight (a process that dies fails only its own), a
 * promise of its readiness and one of its exit, listened for from the moment it is forked so that
 * no exit can be missed.
 */
class HashingProcess {
  readonly ready: Promise<void>
  /** Resolves once the process is gone (or could not be started at all). */
  readonly exited: Promise<void>
  readonly #child: ChildProcess
  readonly #pending = new Map<number, Pending>()
  readonly #onGone: (process: HashingProcess) => void
  #failed!: (error: Error) => void
  #failure: HasherUnavailable | undefined
  #stopping = false

  constructor(onGone: (process: HashingProcess) => void) {
    this.#onGone = onGone
    const child = fork(WORKER.url, [], {
      execArgv: WORKER.execArgv,
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    this.#child = child
    // What it says on stderr (a crash's stack trace) is passed on to this process's. Not inherited:
    // then the server's own output would stay open after the server ended, until this process
    // too had noticed and exited, and whoever waits for that output to close (a supervisor, a
    // test) would wait for it. Never what keeps this process alive.
    const stderr = child.stderr as Socket | null
    stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk))
    stderr?.unref()
    let started!: () => void
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve
      this.#failed = reject
    })
    // Nobody may be waiting for it (closed before it answered): callers see the failure anyway.
    this.ready.catch(() => undefined)
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#gone(`exited (${signal ?? code})`)
        resolve()
      })
      // Every error (a failed start, a failed kill) is handled here: an unhandled 'error' event
      // would end the server. A process that never started has no exit to wait for.
      child.on('error', (error) => {
        if (child.pid === undefined) resolve()
        this.#end(`failed: ${error.message}`)
      })
    })
    child.on('message', (message: HasherReply | { ready: true }) => {
      if ('ready' in message) {
        this.#release()
        return started()
      }
      const request = this.#pending.get(message.id)
      if (!request) return
      this.#pending.delete(message.id)
      this.#release()
      if (message.ok) request.resolve(message.value)
      else request.reject(new HasherUnavailable(`password hashing failed: ${message.error}`))
    })
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  call(request: HasherCall, id: number): Promise<string | boolean> {
    if (this.#failure) return Promise.reject(this.#failure)
    if (this.#stopping) return Promise.reject(new HasherUnavailable('password hasher closed'))
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      // While a hash is in flight, its answer (or the process's exit) is waited for.
      this.#child.ref()
      this.#child.channel?.ref()
      this.#child.send({ ...request, id } satisfies HasherRequest, (error) => {
        // The process died (or its channel closed) before its exit was reported: it is finished,
        // and the next hash starts another one.
        if (error) this.#end(error.message)
      })
    })
  }

  /**
   * Closes the channel (the process exits by itself), kills the process if it has not exited
   * after `graceMs`, and resolves once its exit has been reported.
   */
  stop(graceMs: number): Promise<void> {
    if (this.#stopping) return this.exited
    this.#stopping = true
    const child = this.#child
    // Until its exit is reported, the process must keep this one alive. Left unreferenced (as an
    // idle hasher is), nothing else may: the event loop then runs dry while this waits, and the
    // process ends with its shutdown unfinished (seen under load: a process at nice 10 may take
    // seconds to exit, is killed, and the exit of an unreferenced child is never waited for).
    child.ref()
    if (child.connected) child.disconnect()
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    void this.exited.then(() => clearTimeout(timer))
    return this.exited
  }

  /** Fails its requests and hands over to the next process (once): it is gone. */
  #gone(reason: string): boolean {
    if (this.#failure) return false
    this.#failure = new HasherUnavailable(this.#stopping ? 'password hasher closed' : `password hashing process ${reason}`)
    this.#onGone(this)
    this.#failed(this.#failure)
    for (const request of this.#pending.values()) request.reject(this.#failure)
    this.#pending.clear()
    return true
  }

  /** A process that can no longer be used: killed, so that its exit follows. */
  #end(reason: string): void {
    if (this.#gone(reason) && this.#child.pid !== undefined) this.#child.kill('SIGKILL')
  }

  /** Never what keeps the server (or a CLI command) alive while idle. */
  #release(): void {
    if (this.#pending.size > 0 || this.#stopping) return
    this.#child.unref()
    this.#child.channel?.unref()
  }
}

export function backgroundArgon2Hasher(parameters: Argon2Parameters, options: BackgroundHasherOptions = {}): BackgroundHasher {
  // One hash per core at a time: at background priority they may fill every core.
  const limited = concurrencyLimit(options.concurrency ?? Math.max(1, Math.min(availableParallelism(), 4)))
  const closeGraceMs = options.closeGraceMs ?? CLOSE_GRACE_MS
  let nextId = 1
  let current: HashingProcess | undefined
  let closed: Promise<void> | undefined

  async function call(request: HasherCall): Promise<string | boolean> {
    if (closed) throw new HasherUnavailable('password hasher closed')
    // A newer process may already have replaced one that is gone.
    const running = (current ??= new HashingProcess((gone) => {
      if (current === gone) current = undefined
    }))
    await running.ready
    return running.call(request, nextId++)
  }

  const rehashOptions = { type: argon2.argon2id as 0 | 1 | 2, ...parameters }
  return {
    hash: (password) => limited(async () => (await call({ op: 'hash', password, parameters })) as string),
    verify: (hash, password) => limited(async () => (await call({ op: 'verify', password, hash })) === true),
    // Reading the parameters out of a hash string: cheap, done here.
    needsRehash: (hash) => argon2.needsRehash(hash, rehashOptions),
    load: limited.load,
    async processId() {
      const running = current
      return running?.ready.then(
        () => running.pid,
        () => undefined,
      )
    },
    close() {
      closed ??= (async () => {
        const running = current
        current = undefined
        await running?.stop(closeGraceMs)
      })()
      return closed
    },
  }
}
