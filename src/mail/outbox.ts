/**
 * Mail leaves through an in-process queue so that sending never blocks or fails the HTTP request
 * that caused it. A job first builds its message (which may read and write the database, e.g. to
 * issue a reset token), then delivery is retried with growing delays; a mail that still fails is
 * logged (recipient and subject only — never the body, which holds single-use links) and dropped.
 */
import type { Logger } from 'pino'
import type { MailComposer } from './compose.js'
import type { MailContent, MailMessage } from './message.js'
import type { MailTransport } from './transport.js'

export interface MailJob {
  /** A short label for logs, e.g. `password_reset`. */
  readonly kind: string
  /** Decides recipient and words; null means there is nothing to send (e.g. an unknown email). */
  build(): Promise<{ readonly to: string; readonly content: MailContent } | null>
}

export interface MailOutboxOptions {
  readonly transport: MailTransport
  readonly log: Logger
  readonly compose: MailComposer
  /** Delay before each retry, in milliseconds; its length is the number of retries. */
  readonly retryDelaysMs?: readonly number[]
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [2_000, 10_000, 60_000, 300_000]

/** SMTP 5xx replies (unknown mailbox, bad credentials) will not get better by retrying. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

export class MailOutbox {
  private readonly transport: MailTransport
  private readonly log: Logger
  private readonly compose: MailComposer
  private readonly retryDelaysMs: readonly number[]
  private readonly timers = new Set<NodeJS.Timeout>()
  private pending = 0
  private idleWaiters: (() => void)[] = []
  private closed = false

  constructor(options: MailOutboxOptions) {
    this.transport = options.transport
    this.log = options.log
    this.compose = options.compose
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS
  }

  get transportKind(): MailTransport['kind'] {
    return this.transport.kind
  }

  /** Accepts the job and returns at once; the work happens after the current request. */
  enqueue(job: MailJob): void {
    if (this.closed) {
      this.log.error({ event: 'mail_failed', kind: job.kind }, 'mail not queued: shutting down')
      return
    }
    this.pending += 1
    setImmediate(() => void this.run(job))
  }

  /** Resolves once every accepted job has been delivered or given up. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Waits up to `graceMs` for queued mail, then abandons retries (logged) and closes the transport. */
  async close(graceMs = 5_000): Promise<void> {
    this.closed = true
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    if (this.pending > 0) this.log.error({ event: 'mail_failed', undelivered: this.pending }, 'mail still queued at shutdown was not sent')
    for (const retry of this.timers) clearTimeout(retry)
    this.timers.clear()
    this.transport.close()
  }

  private async run(job: MailJob): Promise<void> {
    let message: MailMessage
    try {
      const built = await job.build()
      if (built === null) return this.done()
      message = this.compose(built.to, built.content)
    } catch (error) {
      this.log.error(
        { event: 'mail_failed', kind: job.kind, reason: error instanceof Error ? error.message : String(error) },
        'could not prepare mail',
      )
      return this.done()
    }
    await this.deliver(job.kind, message, 0)
  }

  private async deliver(kind: string, message: MailMessage, attempt: number): Promise<void> {
    try {
      await this.transport.send(message)
      this.log.info({ event: 'mail_sent', kind, to: message.to, attempt: attempt + 1 }, 'mail sent')
      return this.done()
    } catch (error) {
      const delay = isPermanent(error) ? undefined : this.retryDelaysMs[attempt]
      const reason = error instanceof Error ? error.message : String(error)
      if (delay === undefined || this.closed) {
        this.log.error({ event: 'mail_failed', kind, to: message.to, attempts: attempt + 1, reason }, 'mail delivery failed; giving up')
        return this.done()
      }
      this.log.warn(
        { event: 'mail_retry', kind, to: message.to, attempt: attempt + 1, retryInMs: delay, reason },
        'mail delivery failed; will retry',
      )
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        void this.deliver(kind, message, attempt + 1)
      }, delay)
      timer.unref()
      this.timers.add(timer)
    }
  }

  private done(): void {
    this.pending -= 1
    if (this.pending > 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
