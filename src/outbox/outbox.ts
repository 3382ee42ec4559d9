/**
 * The durable outbox: work that must happen after the request that caused it — and happen even
 * if this process stops — is a row in the `outbox` table, written with the change that caused it.
 * Each serving process runs a worker that claims due rows (db/repositories/outbox.ts: a claim is a
 * conditional UPDATE per row and a lease, so several instances share the table safely and a
 * crashed holder's rows come back when the lease ends), hands each to the handler registered for
 * its `kind`, and records the outcome: done, due again after an exponential backoff, or given up
 * after a bounded number of attempts (logged, and reported to the handler, which audits it). The
 * worker polls every `pollIntervalMs`, is nudged at once when this process stores a job, and wakes
 * when a retry it scheduled comes due (sooner than its next poll).
 */
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { ClaimedOutboxJob, NewOutboxJob, OutboxRepository } from '../db/repositories/outbox.js'
import { randomId } from '../secrets.js'
import { DEFAULT_RETRY_SCHEDULE, retryDelaySeconds, type RetrySchedule } from './retry.js'

/** A job that can never succeed (its client is gone, its payload unreadable): given up without retries. */
export class JobRefused extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'JobRefused'
  }
}

/** What a handler learns about the attempt it is running. */
export interface OutboxAttempt {
  /** Attempts including this one (a claim that crashed counts too). */
  readonly attempts: number
}

export interface OutboxHandler {
  readonly kind: string
  /** How jobs of this kind are retried; default: the outbox policy's schedule. */
  readonly retry?: RetrySchedule
  /** Identifiers for the logs (a client_id…), never a token or a secret. */
  describe(payload: unknown): Readonly<Record<string, string | null>>
  /** Does the job once: resolves when done; throws to be tried again later (JobRefused: never again). */
  run(payload: unknown, attempt: OutboxAttempt): Promise<void>
  /** Called once when the job is given up, e.g. to record a security event. */
  gaveUp?(payload: unknown, outcome: { readonly attempts: number; readonly reason: string }): Promise<void>
}

export interface OutboxPolicy {
  /** How often the worker looks for due jobs stored by other processes (and retries coming due). */
  readonly pollIntervalMs: number
  /** A claimed job is this instance's for so long; past it, another instance may take it. */
  readonly leaseSeconds: number
  /** Jobs claimed and run at once by one instance. */
  readonly batchSize: number
  readonly retry: RetrySchedule
}

export const DEFAULT_OUTBOX_POLICY: OutboxPolicy = { pollIntervalMs: 5_000, leaseSeconds: 60, batchSize: 8, retry: DEFAULT_RETRY_SCHEDULE }

export interface OutboxOptions {
  readonly repository: OutboxRepository
  readonly clock: Clock
  readonly log: Logger
  readonly policy?: Partial<OutboxPolicy>
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class Outbox {
  readonly #repository: OutboxRepository
  readonly #clock: Clock
  readonly #log: Logger
  readonly #policy: OutboxPolicy
  readonly #handlers = new Map<string, OutboxHandler>()
  readonly #wakeups = new Set<NodeJS.Timeout>()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #closed = false

  constructor(options: OutboxOptions) {
    this.#repository = options.repository
    this.#clock = options.clock
    this.#log = options.log
    this.#policy = { ...DEFAULT_OUTBOX_POLICY, ...options.policy }
  }

  /** Adds the handler of one kind of job (once per kind). */
  register(handler: OutboxHandler): void {
    if (this.#handlers.has(handler.kind)) throw new TypeError(`an outbox handler for ${handler.kind} is already registered`)
    this.#handlers.set(handler.kind, handler)
  }

  /** A new job, due now, for the caller to store (in its own transaction, see insertOutboxJobs). */
  job(kind: string, payload: unknown): NewOutboxJob {
    if (!this.#handlers.has(kind)) throw new TypeError(`no outbox handler for ${kind}`)
    const now = this.#clock.now()
    return { id: randomId(), kind, payload: JSON.stringify(payload), createdAt: now, nextAttemptAt: now }
  }

  /** Stores jobs on their own (not with another change) and nudges the worker. */
  async enqueue(kind: string, payloads: readonly unknown[]): Promise<void> {
    await this.#repository.enqueue(payloads.map((payload) => this.job(kind, payload)))
    this.nudge()
  }

  /** This process stored jobs: a started worker looks at once instead of at its next poll. */
  nudge(): void {
    if (this.#timer === undefined) return
    setImmediate(() => void this.#tick())
  }

  /** Starts the worker (serving processes; the CLI only stores jobs). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#timer = setInterval(() => void this.#tick(), this.#policy.pollIntervalMs)
    this.#timer.unref()
    void this.#tick()
  }

  /**
   * Resolves once no job is due any more (at the clock's now), whichever instance runs them: this
   * one runs what it can claim, and waits for jobs another instance holds. Jobs due later (a retry
   * after a backoff) do not count. For tests and tools; does nothing once closed.
   */
  async idle(): Promise<void> {
    const kinds = [...this.#handlers.keys()]
    while (!this.#closed) {
      await this.#tick()
      if ((await this.#repository.countDue(this.#clock.now(), kinds)) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** Stops polling and waits for the jobs in flight (each bounded by its handler's own timeout). */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    this.#timer = undefined
    for (const wakeup of this.#wakeups) clearTimeout(wakeup)
    this.#wakeups.clear()
    await this.#running
  }

  /** A started worker looks again when a retry comes due, unless its poll comes first. */
  #wakeAfter(seconds: number): void {
    if (this.#timer === undefined || seconds * 1000 >= this.#policy.pollIntervalMs) return
    const wakeup = setTimeout(() => {
      this.#wakeups.delete(wakeup)
      void this.#tick()
    }, seconds * 1000)
    wakeup.unref()
    this.#wakeups.add(wakeup)
  }

  /** One pass: claims and runs batches until nothing due is left; concurrent calls share the pass. */
  #tick(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (this.#running !== undefined) {
      this.#again = true
      return this.#running
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false
          while (!this.#closed && (await this.#runBatch()) === this.#policy.batchSize);
        } while (this.#again && !this.#closed)
      } catch (error) {
        // The database may be away; rows stay where they are and the next poll tries again.
        this.#log.error({ event: 'outbox_poll_failed', reason: reasonOf(error) }, 'could not claim outbox jobs')
      } finally {
        this.#running = undefined
      }
    })()
    return this.#running
  }

  async #runBatch(): Promise<number> {
    const now = this.#clock.now()
    const jobs = await this.#repository.claim({
      kinds: [...this.#handlers.keys()],
      now,
      lockedUntil: now + this.#policy.leaseSeconds,
      lockToken: randomId(),
      limit: this.#policy.batchSize,
    })
    await Promise.all(jobs.map((job) => this.#run(job)))
    return jobs.length
  }

  async #run(job: ClaimedOutboxJob): Promise<void> {
    const handler = this.#handlers.get(job.kind)!
    let payload: unknown
    try {
      payload = JSON.parse(job.payload) as unknown
    } catch {
      return this.#failed(job, handler, null, {}, new JobRefused('the payload is not JSON'))
    }
    let facts: Readonly<Record<string, string | null>> = {}
    try {
      facts = handler.describe(payload)
      await handler.run(payload, { attempts: job.attempts })
    } catch (error) {
      return this.#failed(job, handler, payload, facts, error)
    }
    try {
      if (await this.#repository.complete(job, this.#clock.now()))
        this.#log.info({ event: 'outbox_done', kind: job.kind, job: job.id, attempts: job.attempts, ...facts }, `${job.kind} done`)
    } catch (error) {
      // Done but not recorded: when the lease ends it is done again (delivery is at least once).
      this.#log.error(
        { event: 'outbox_record_failed', kind: job.kind, job: job.id, reason: reasonOf(error) },
        'could not record a finished job',
      )
    }
  }

  async #failed(
    job: ClaimedOutboxJob,
    handler: OutboxHandler,
    payload: unknown,
    facts: Readonly<Record<string, string | null>>,
    error: unknown,
  ): Promise<void> {
    const reason = error instanceof JobRefused ? error.problem : reasonOf(error)
    const delay = error instanceof JobRefused ? null : retryDelaySeconds(job.attempts, handler.retry ?? this.#policy.retry)
    const line = { kind: job.kind, job: job.id, attempts: job.attempts, ...facts, reason }
    try {
      if (delay !== null) {
        if (await this.#repository.retry(job, this.#clock.now() + delay, reason)) {
          this.#log.warn({ event: 'outbox_retry', ...line, retryInSeconds: delay }, `${job.kind} failed; will retry`)
          this.#wakeAfter(delay)
        }
        return
      }
      if (!(await this.#repository.fail(job, this.#clock.now(), reason))) return
    } catch (recordError) {
      // Not recorded: the lease ends and the job is tried again.
      this.#log.error({ event: 'outbox_record_failed', ...line, recordError: reasonOf(recordError) }, 'could not record a failed job')
      return
    }
    this.#log.error({ event: 'outbox_gave_up', ...line }, `${job.kind} given up`)
    try {
      await handler.gaveUp?.(payload, { attempts: job.attempts, reason })
    } catch (reportError) {
      this.#log.error({ event: 'outbox_report_failed', ...line, reportError: reasonOf(reportError) }, 'could not report a job given up')
    }
  }
}
