/**
 * Webhook deliveries through the outbox: each job names a webhook, a message id and the event
 * (identifiers only). Every attempt reads the webhook as it is now (removed or disabled: given up),
 * serialises the event, signs it with the webhook's secret at the attempt's time (Standard
 * Webhooks, signature.ts) and POSTs it as JSON with a 5-second timeout, redirects not followed.
 * Any 2xx is success; anything else is retried with the outbox's backoff, and a delivery given up
 * is a `webhook_failed` security event — which is never itself a webhook event.
 */
import type { Deps } from '../deps.js'
import { JobRefused, type OutboxHandler } from '../outbox/outbox.js'
import { postJson } from '../outbox/post-json.js'
import { WEBHOOK_EVENT_TYPES, type WebhookEvent } from './catalogue.js'
import { WEBHOOK, type WebhookJob } from './publisher.js'
import { webhookSecret } from './registry.js'
import { webhookHeaders } from './signature.js'

const DELIVERY_TIMEOUT_MS = 5_000

const fieldsOf = (payload: unknown): Record<string, unknown> =>
  (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>

/** The stored payload, checked field by field (rows outlive code versions). */
function webhookJob(payload: unknown): WebhookJob {
  const { webhookId, messageId, event } = fieldsOf(payload)
  const { type, timestamp, data } = fieldsOf(event)
  if (typeof webhookId !== 'string' || typeof messageId !== 'string' || messageId === '')
    throw new JobRefused('the job names no webhook and message')
  if (typeof type !== 'string' || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type) || typeof timestamp !== 'string')
    throw new JobRefused('the job holds no known event')
  if (typeof data !== 'object' || data === null) throw new JobRefused('the event has no data')
  return { webhookId, messageId, event: event as WebhookEvent }
}

type HandlerDeps = Pick<Deps, 'repos' | 'clock' | 'audit' | 'webhookKey'>

export function webhookHandler(deps: HandlerDeps): OutboxHandler {
  return {
    kind: WEBHOOK,

    describe(payload) {
      const { webhookId, event } = fieldsOf(payload)
      const { type } = fieldsOf(event)
      return { webhookId: typeof webhookId === 'string' ? webhookId : null, type: typeof type === 'string' ? type : null }
    },

    async run(payload) {
      const job = webhookJob(payload)
      const webhook = await deps.repos.webhooks.find(job.webhookId)
      if (!webhook) throw new JobRefused('the webhook no longer exists')
      if (webhook.disabledAt !== null) throw new JobRefused('the webhook is disabled')
      const body = JSON.stringify(job.event)
      const headers = webhookHeaders(webhookSecret(deps.webhookKey, webhook), { id: job.messageId, timestamp: deps.clock.now(), body })
      // An operator's URL: any address, an intranet included (like a back-channel logout URI set by the CLI).
      const status = await postJson(webhook.url, body, headers, { timeoutMs: DELIVERY_TIMEOUT_MS, publicAddresses: null })
      if (status < 200 || status > 299) throw new Error(`the receiver answered HTTP ${status}`)
    },

    async gaveUp(payload, outcome) {
      const { webhookId, messageId, event } = fieldsOf(payload)
      const text = (value: unknown) => (typeof value === 'string' ? value : null)
      await deps.audit.record(
        'webhook_failed',
        {
          detail: {
            webhook: text(webhookId),
            message: text(messageId),
            type: text(fieldsOf(event)['type']),
            attempts: outcome.attempts,
            reason: outcome.reason,
          },
        },
        'webhook not delivered; given up',
      )
    },
  }
}
