/**
 * Account mail through the durable outbox (outbox/outbox.ts): queuing a mail is one row of kind
 * `mail` in the database — what to build, never a link or a token — so sending never blocks or
 * fails the request that caused it and queued mail survives a crash or a restart. Any serving
 * instance builds the message when it delivers it (a builder may read and write the database, e.g.
 * to issue a reset link) and sends it; temporary failures are retried with backoff, an SMTP 5xx
 * answer (unknown mailbox, bad credentials) is given up at once. Failures are logged with the
 * recipient and the template only — never the body, which holds single-use links.
 */
import type { Logger } from 'pino'
import { JobRefused, type Outbox, type OutboxAttempt, type OutboxHandler } from '../outbox/outbox.js'
import { retryDelaySeconds, type RetrySchedule } from '../outbox/retry.js'
import type { MailComposer } from './compose.js'
import type { MailContent } from './message.js'
import type { MailTransport } from './transport.js'

export const MAIL = 'mail'

/** 2 s, 4 s, 8 s … capped at 10 minutes: twelve attempts over about 37 minutes. */
export const MAIL_RETRY_SCHEDULE: RetrySchedule = { firstDelaySeconds: 2, maxDelaySeconds: 600, maxAttempts: 12 }

/** Turns a stored mail job into recipient and words, when it is delivered. */
export interface MailBuilder {
  /** The template a stored job names, for the logs (null: none). */
  kind(payload: unknown): string | null
  /** Null: nothing to send (e.g. no account has the address). Throws JobRefused for a job it cannot read. */
  build(payload: unknown, attempt: OutboxAttempt): Promise<{ readonly to: string; readonly content: MailContent } | null>
}

export interface MailOutboxOptions {
  readonly transport: MailTransport
  readonly log: Logger
  readonly compose: MailComposer
  readonly outbox: Outbox
  readonly builder: MailBuilder
  readonly retry?: RetrySchedule
}

/** SMTP 5xx replies (unknown mailbox, bad credentials) will not get better by retrying. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class MailOutbox<Job extends { readonly template: string }> {
  readonly #options: MailOutboxOptions
  readonly #retry: RetrySchedule
  /** Rows being written: idle() and close() wait for them. */
  readonly #storing = new Set<Promise<void>>()

  constructor(options: MailOutboxOptions) {
    this.#options = options
    this.#retry = options.retry ?? MAIL_RETRY_SCHEDULE
  }

  get transportKind(): MailTransport['kind'] {
    return this.#options.transport.kind
  }

  /** Stores the mail (one insert) and nudges the worker; never throws (a failure is logged). */
  enqueue(job: Job): Promise<void> {
    const stored = this.#options.outbox.enqueue(MAIL, [job]).catch((error: unknown) => {
      this.#options.log.error({ event: 'mail_failed', kind: job.template, reason: reasonOf(error) }, 'mail not queued')
    })
    this.#storing.add(stored)
    void stored.finally(() => this.#storing.delete(stored))
    return stored
  }

  /** Resolves once every mail queued so far (by any instance) has been sent or given up, or waits for a retry. For tests and tools. */
  async idle(): Promise<void> {
    await Promise.all(this.#storing)
    await this.#options.outbox.idle()
  }

  /** Waits for mail being queued and for deliveries in flight; what is left is sent by the next instance to run. */
  async close(): Promise<void> {
    await Promise.all(this.#storing)
    await this.#options.outbox.close()
    this.#options.transport.close()
  }

  /** The outbox handler of kind `mail`, registered once by whoever built this (mail/create.ts). */
  handler(): OutboxHandler {
    const { builder, log } = this.#options
    return {
      kind: MAIL,
      retry: this.#retry,
      describe: (payload) => ({ template: builder.kind(payload) }),
      run: async (payload, attempt) => {
        const kind = builder.kind(payload)
        const last = (error: unknown) => isPermanent(error) || retryDelaySeconds(attempt.attempts, this.#retry) === null
        let built
        try {
          built = await builder.build(payload, attempt)
        } catch (error) {
          if (error instanceof JobRefused || last(error))
            log.error({ event: 'mail_failed', kind, attempts: attempt.attempts, reason: reasonOf(error) }, 'could not prepare mail')
          throw error
        }
        if (built === null) return
        const message = this.#options.compose(built.to, built.content)
        const line = { kind, to: message.to }
        try {
          await this.#options.transport.send(message)
        } catch (error) {
          const reason = reasonOf(error)
          if (last(error)) {
            log.error({ event: 'mail_failed', ...line, attempts: attempt.attempts, reason }, 'mail delivery failed; giving up')
            throw new JobRefused(reason)
          }
          const retryInSeconds = retryDelaySeconds(attempt.attempts, this.#retry)
          log.warn({ event: 'mail_retry', ...line, attempt: attempt.attempts, retryInSeconds, reason }, 'mail delivery failed; will retry')
          throw error
        }
        log.info({ event: 'mail_sent', ...line, attempt: attempt.attempts }, 'mail sent')
      },
    }
  }
}
