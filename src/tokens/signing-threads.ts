/**
 * RS256 signatures on threads of their own (SIGNING_THREADS). jose signs through WebCrypto: every
 * signature is a job on libuv's pool, four threads shared with DNS lookups and file reads, and
 * with four threads for one core's worth of signing, nearly every job wakes a sleeping thread.
 * Profiled under load, the event loop lost 0.1–0.2 ms per signature to those wake-ups (the
 * woken thread took its core). Threads sized to the cores stay busy while signatures are queued;
 * each signs synchronously (fast-jwt on node:crypto, about the CPU of jose's job). Measured in
 * bench/CHANGES.md items 11 and 18.
 */
import { Worker } from 'node:worker_threads'
import type { JWTPayload } from 'jose'
import type { SigningKey } from '../keys/key-store.js'
import type { Logger } from 'pino'
import { workerEntry } from '../worker-entry.js'
import { TemporarilyUnavailable } from '../errors/unavailable.js'
import { KEPT_KEYS, type SignMessage, type SignPairMessage, type SigningReply, type SigningRequest } from './signing-protocol.js'
import type { JwtSigner, SignedTokenPair } from './sign.js'

type ThreadEntry = ReturnType<typeof workerEntry>

/**
 * Signatures a thread holds in flight before the next goes to another: one signing and one queued,
 * so a thread that finishes starts the next without sleeping (bench/CHANGES.md item 18).
 */
const SPILL_AT = 2

const THREAD: ThreadEntry = workerEntry(import.meta.url, 'signing-thread')

/** The thread a signature was sent to ended, or the threads are closed: the next signature starts another. */
export class SigningUnavailable extends TemporarilyUnavailable {
  constructor(message: string) {
    super(message)
    this.name = 'SigningUnavailable'
  }
}

/** This signature failed on its own (claims that cannot be copied, a key the thread cannot use): a bug, not a wait. */
export class SigningFailed extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SigningFailed'
  }
}

/** A successful answer: one token, or an access token with its ID token. */
type Signed = Exclude<SigningReply, { readonly error: string }>

interface Pending {
  readonly resolve: (reply: Signed) => void
  readonly reject: (error: Error) => void
}

/** A signature request without its id, which the thread it goes to gives it. */
type Job = Omit<SignMessage, 'id'> | Omit<SignPairMessage, 'id'>

/** One thread: its signatures in flight, the keys it holds. A thread that dies fails only its own. */
class SigningThread {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  /** The handles of the keys the thread holds, oldest first, as it drops them. */
  readonly #held: number[] = []
  readonly #onGone: (thread: SigningThread, reason: string) => void
  #nextId = 0
  #gone: string | null = null

  constructor(entry: ThreadEntry, onGone: (thread: SigningThread, reason: string) => void) {
    this.#onGone = onGone
    this.#worker = new Worker(entry.url, { execArgv: entry.execArgv })
    // Only signatures in flight keep the process alive.
    this.#worker.unref()
    this.#worker.on('message', (reply: SigningReply) => {
      const request = this.#pending.get(reply.id)
      if (!request) return
      this.#pending.delete(reply.id)
      if (this.#pending.size === 0) this.#worker.unref()
      if ('error' in reply) request.reject(new SigningFailed(`signing failed: ${reply.error}`))
      else request.resolve(reply)
    })
    this.#worker.on('error', (error) => this.#end(`failed: ${error.message}`))
    this.#worker.on('exit', (code) => this.#end(`exited (${code})`))
  }

  get inFlight(): number {
    return this.#pending.size
  }

  sign(job: Job, key: SigningKey): Promise<Signed> {
    if (this.#gone !== null) return Promise.reject(new SigningUnavailable(`signing thread ${this.#gone}`))
    if (!this.#held.includes(job.handle)) {
      this.#worker.postMessage({ op: 'key', handle: job.handle, kid: key.kid, alg: key.alg, key: key.key } satisfies SigningRequest)
      this.#held.push(job.handle)
      if (this.#held.length > KEPT_KEYS) this.#held.shift()
    }
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ ...job, id } satisfies SigningRequest)
      } catch (error) {
        // Claims that cannot be copied to the thread (never JSON): this signature fails alone.
        return reject(new SigningFailed(`signing failed: ${error instanceof Error ? error.message : String(error)}`))
      }
      this.#pending.set(id, { resolve, reject })
      if (this.#pending.size === 1) this.#worker.ref()
    })
  }

  async stop(): Promise<void> {
    this.#end('stopped')
    await this.#worker.terminate()
  }

  /** The first reason counts: signatures in flight fail with it, later ones at once. */
  #end(reason: string): void {
    if (this.#gone !== null) return
    this.#gone = reason
    for (const request of this.#pending.values()) request.reject(new SigningUnavailable(`signing thread ${reason}`))
    this.#pending.clear()
    this.#onGone(this, reason)
  }
}

/**
 * `count` threads, started by the first signature (most CLI commands sign nothing); each
 * signature goes to the first thread with a free place (SPILL_AT), else to the one with the fewest
 * in flight, and a thread that died is replaced by the next signature.
 */
export class SigningThreads implements JwtSigner {
  readonly #threads: SigningThread[] = []
  readonly #count: number
  readonly #log: Pick<Logger, 'error'> | undefined
  readonly #entry: ThreadEntry
  /** A number per signing key (kid, alg and private key together), the name threads know it by. */
  readonly #handles = new WeakMap<SigningKey, number>()
  #nextHandle = 0
  #closed = false

  /** `entry`: the thread's module, signing-thread.ts unless a test starts one that can be made to fail. */
  constructor(count: number, log?: Pick<Logger, 'error'>, entry: ThreadEntry = THREAD) {
    this.#count = count
    this.#log = log
    this.#entry = entry
  }

  async sign(typ: string, payload: JWTPayload, key: SigningKey): Promise<string> {
    const reply = await this.#send({ op: 'sign', handle: this.#handleOf(key), typ, payload: payload as Record<string, unknown> }, key)
    if (!('token' in reply)) throw new SigningFailed('the signing thread answered a signature with a token pair')
    return reply.token
  }

  async signAccessAndIdToken(accessClaims: JWTPayload, idClaims: JWTPayload, key: SigningKey): Promise<SignedTokenPair> {
    const job = { op: 'sign-pair', handle: this.#handleOf(key), accessClaims, idClaims } as const
    const reply = await this.#send(job, key)
    if (!('idToken' in reply)) throw new SigningFailed('the signing thread answered a token pair with one token')
    return { accessToken: reply.accessToken, idToken: reply.idToken }
  }

  /**
   * To the first thread with fewer than SPILL_AT signatures in flight, else to the one with the
   * fewest. A sleeping thread is woken only when the busy ones have a queue: every wake-up takes a
   * core from the event loop for a moment (see above), so at light load one thread signs alone.
   */
  #send(job: Job, key: SigningKey): Promise<Signed> {
    if (this.#closed) return Promise.reject(new SigningUnavailable('signing threads closed'))
    while (this.#threads.length < this.#count)
      this.#threads.push(new SigningThread(this.#entry, (gone, reason) => this.#remove(gone, reason)))
    let least = this.#threads[0]!
    for (const thread of this.#threads) {
      if (thread.inFlight < SPILL_AT) return thread.sign(job, key)
      if (thread.inFlight < least.inFlight) least = thread
    }
    return least.sign(job, key)
  }

  #handleOf(key: SigningKey): number {
    let handle = this.#handles.get(key)
    if (handle === undefined) this.#handles.set(key, (handle = this.#nextHandle++))
    return handle
  }

  async close(): Promise<void> {
    this.#closed = true
    const threads = this.#threads.splice(0)
    await Promise.all(threads.map((thread) => thread.stop()))
  }

  #remove(thread: SigningThread, reason: string): void {
    const index = this.#threads.indexOf(thread)
    if (index < 0) return
    this.#threads.splice(index, 1)
    this.#log?.error({ event: 'signing_thread_ended', reason }, 'a signing thread ended; the next signature starts another')
  }
}
