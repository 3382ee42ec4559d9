/**
 * From security events to webhook deliveries: every recorded security event (audit.ts) comes here;
 * one that is a webhook event (catalogue.ts) becomes one outbox row per enabled webhook subscribed
 * to it, all in one insert. The list of webhooks is read at most once per `cacheMs` per process
 * (changes made through registry.ts in this process apply at once; other instances see them
 * within `cacheMs`), so an event nobody subscribes to costs no query at all.
 */
import type { Logger } from 'pino'
import type { RecordedSecurityEvent } from '../audit.js'
import type { Webhook } from '../model/webhook.js'
import type { Outbox } from '../outbox/outbox.js'
import { randomId } from '../secrets.js'
import { webhookEvent, type WebhookEvent } from './catalogue.js'
import { subscribes } from './subscription.js'

export const WEBHOOK = 'webhook'

/** The outbox payload of one delivery: which webhook, the message id (the same for every attempt), the event. */
export interface WebhookJob {
  readonly webhookId: string
  readonly messageId: string
  readonly event: WebhookEvent
}

export interface WebhookPublisherOptions {
  readonly webhooks: { listEnabled(): Promise<readonly Webhook[]> }
  readonly outbox: Pick<Outbox, 'enqueue'>
  readonly log: Logger
  /** How long the list of webhooks is reused, in milliseconds (0: read for every event). */
  readonly cacheMs: number
  /** A monotonic clock in milliseconds (tests pass their own). */
  readonly nowMs?: () => number
}

/** 5 s: a webhook added on another instance gets events within seconds. */
export const WEBHOOK_CACHE_MS = 5_000

export class WebhookPublisher {
  readonly #options: WebhookPublisherOptions
  readonly #nowMs: () => number
  #cached: { readonly until: number; readonly webhooks: Promise<readonly Webhook[]> } | undefined

  constructor(options: WebhookPublisherOptions) {
    this.#options = options
    this.#nowMs = options.nowMs ?? (() => performance.now())
  }

  /** The webhooks changed in this process: the next event reads them again. */
  invalidate(): void {
    this.#cached = undefined
  }

  /** Called for every recorded security event; never throws (a failure is logged, the event stays in the audit log). */
  async onSecurityEvent(recorded: RecordedSecurityEvent): Promise<void> {
    const event = webhookEvent(recorded.type, recorded.fields, recorded.detail, recorded.at)
    if (event === null) return
    try {
      const targets = (await this.#webhooks()).filter((webhook) => subscribes(webhook.events, event.type))
      if (targets.length === 0) return
      const jobs: WebhookJob[] = targets.map((webhook) => ({ webhookId: webhook.id, messageId: `msg_${randomId()}`, event }))
      await this.#options.outbox.enqueue(WEBHOOK, jobs)
    } catch (error) {
      this.#options.log.error(
        { event: 'webhook_publish_failed', type: event.type, reason: error instanceof Error ? error.message : String(error) },
        'could not queue webhook deliveries',
      )
    }
  }

  #webhooks(): Promise<readonly Webhook[]> {
    const now = this.#nowMs()
    if (this.#cached !== undefined && now < this.#cached.until) return this.#cached.webhooks
    const webhooks = this.#options.webhooks.listEnabled()
    const entry = { until: now + this.#options.cacheMs, webhooks }
    this.#cached = entry
    // A failed read is not kept: the next event tries again.
    webhooks.catch(() => {
      if (this.#cached === entry) this.#cached = undefined
    })
    return webhooks
  }
}
