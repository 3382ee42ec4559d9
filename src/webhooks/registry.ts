/**
 * Managing event webhooks, whichever surface asks (`idp webhooks` today): the URL and event rules
 * (subscription.ts), a new signing secret shown once and stored sealed under a key derived from
 * the KEK (bound to the webhook's id), and an audited change that this process's publisher sees
 * at once.
 */
import type { Deps } from '../deps.js'
import { openEnvelope, sealEnvelope } from '../keys/envelope.js'
import { actorLabel, type Actor } from '../model/actor.js'
import type { Webhook } from '../model/webhook.js'
import { randomId } from '../secrets.js'
import { newWebhookSecret } from './signature.js'
import { eventPatternProblem, webhookUrlProblem } from './subscription.js'

type RegistryDeps = Pick<Deps, 'config' | 'repos' | 'clock' | 'audit' | 'webhookKey' | 'webhooks'>

/** A rule a new webhook breaks, or an unknown id; `message` is one line for the operator. */
export class WebhookProblem extends Error {
  constructor(
    readonly code: 'invalid_url' | 'invalid_events' | 'unknown_webhook',
    message: string,
  ) {
    super(message)
    this.name = 'WebhookProblem'
  }
}

export interface NewWebhook {
  readonly url: string
  readonly events: readonly string[]
}

const associatedData = (id: string): string => `webhook:${id}`

/** The signing secret of a stored webhook. */
export function webhookSecret(key: Buffer, webhook: Pick<Webhook, 'id' | 'sealedSecret'>): string {
  return openEnvelope(key, webhook.sealedSecret, associatedData(webhook.id)).toString('utf8')
}

/** Registers a webhook; the secret is returned here once and never again. */
export async function addWebhook(
  deps: RegistryDeps,
  input: NewWebhook,
  actor: Actor,
): Promise<{ readonly webhook: Webhook; readonly secret: string }> {
  const urlProblem = webhookUrlProblem(input.url, deps.config.issuer)
  if (urlProblem !== null) throw new WebhookProblem('invalid_url', urlProblem)
  if (input.events.length === 0)
    throw new WebhookProblem('invalid_events', 'at least one --event is required (an event type, a category like user.*, or *)')
  for (const pattern of input.events) {
    const problem = eventPatternProblem(pattern)
    if (problem !== null) throw new WebhookProblem('invalid_events', problem)
  }
  const id = `wh_${randomId(12)}`
  const secret = newWebhookSecret()
  const webhook: Webhook = {
    id,
    url: input.url,
    events: [...new Set(input.events)],
    sealedSecret: sealEnvelope(deps.webhookKey, Buffer.from(secret, 'utf8'), associatedData(id)),
    disabledAt: null,
    createdAt: deps.clock.now(),
  }
  await deps.repos.webhooks.insert(webhook)
  deps.webhooks.invalidate()
  // The host only: a receiver's URL may carry a token of its own in its query.
  await deps.audit.record(
    'webhook_added',
    { detail: { webhook: id, host: new URL(webhook.url).host, events: webhook.events, actor: actorLabel(actor) } },
    'webhook added',
  )
  return { webhook, secret }
}

async function existing(deps: RegistryDeps, id: string): Promise<Webhook> {
  const webhook = await deps.repos.webhooks.find(id)
  if (!webhook) throw new WebhookProblem('unknown_webhook', `no webhook with id ${id} (see idp webhooks list)`)
  return webhook
}

/** Deletes a webhook; deliveries still queued for it are given up. */
export async function removeWebhook(deps: RegistryDeps, id: string, actor: Actor): Promise<Webhook> {
  const webhook = await existing(deps, id)
  await deps.repos.webhooks.remove(webhook.id)
  deps.webhooks.invalidate()
  await deps.audit.record('webhook_removed', { detail: { webhook: webhook.id, actor: actorLabel(actor) } }, 'webhook removed')
  return webhook
}

/** Stops (or resumes) deliveries; while disabled, no events are queued for it and queued ones are given up. */
export async function setWebhookEnabled(deps: RegistryDeps, id: string, enabled: boolean, actor: Actor): Promise<Webhook> {
  const webhook = await existing(deps, id)
  const disabledAt = enabled ? null : (webhook.disabledAt ?? deps.clock.now())
  await deps.repos.webhooks.setDisabled(webhook.id, disabledAt)
  deps.webhooks.invalidate()
  await deps.audit.record(
    enabled ? 'webhook_enabled' : 'webhook_disabled',
    { detail: { webhook: webhook.id, actor: actorLabel(actor) } },
    enabled ? 'webhook enabled' : 'webhook disabled',
  )
  return { ...webhook, disabledAt }
}
