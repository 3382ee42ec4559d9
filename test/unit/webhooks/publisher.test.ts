/**
 * The publisher: one outbox job per subscribed, enabled webhook, all in one call; nothing for an
 * event nobody takes; the webhook list read at most once per cache period, at once after an
 * invalidation; a failure is logged and never thrown.
 */
import pino from 'pino'
import t from 'tap'
import type { RecordedSecurityEvent } from '../../../src/audit.js'
import type { Webhook } from '../../../src/model/webhook.js'
import { WebhookPublisher, type WebhookJob } from '../../../src/webhooks/publisher.js'

const webhook = (id: string, events: string[]): Webhook => ({
  id,
  url: `https://${id}.example/in`,
  events,
  sealedSecret: 'x',
  disabledAt: null,
  createdAt: 0,
})
const failure: RecordedSecurityEvent = { type: 'login_failure', fields: { ip: '192.0.2.1' }, detail: {}, at: 1_800_000_000 }

function setUp(list: () => Promise<readonly Webhook[]>) {
  let now = 0
  const reads: number[] = []
  const stored: { kind: string; jobs: WebhookJob[] }[] = []
  const publisher = new WebhookPublisher({
    webhooks: {
      listEnabled: () => {
        reads.push(now)
        return list()
      },
    },
    outbox: {
      enqueue: async (kind, payloads) => void stored.push({ kind, jobs: payloads as WebhookJob[] }),
    },
    log: pino({ level: 'silent' }),
    cacheMs: 5_000,
    nowMs: () => now,
  })
  return { publisher, reads, stored, advance: (ms: number) => (now += ms) }
}

t.test('one job per subscribed webhook, in one enqueue; none for unsubscribed events', async (t) => {
  const { publisher, stored } = setUp(async () => [webhook('a', ['login.failed']), webhook('b', ['user.*']), webhook('c', ['*'])])
  await publisher.onSecurityEvent(failure)
  t.equal(stored.length, 1, 'one enqueue')
  t.equal(stored[0]!.kind, 'webhook')
  t.same(
    stored[0]!.jobs.map((job) => job.webhookId),
    ['a', 'c'],
  )
  t.match(stored[0]!.jobs[0], { messageId: /^msg_/, event: { type: 'login.failed', data: { ip: '192.0.2.1' } } })
  t.not(stored[0]!.jobs[0]!.messageId, stored[0]!.jobs[1]!.messageId, 'each delivery is its own message')
  await publisher.onSecurityEvent({ type: 'step_up', fields: {}, detail: {}, at: 0 })
  await publisher.onSecurityEvent({ type: 'factor_added', fields: { userId: 'u' }, detail: {}, at: 0 })
  t.same(
    stored.slice(1).map((call) => call.jobs.map((job) => job.webhookId)),
    [['b', 'c']],
    'step_up is no event; user.factor_added goes to b and c',
  )
})

t.test('the list is read once per cache period, and again at once after invalidate()', async (t) => {
  let webhooks: Webhook[] = []
  const { publisher, reads, stored, advance } = setUp(async () => webhooks)
  await publisher.onSecurityEvent(failure)
  await publisher.onSecurityEvent(failure)
  t.same(reads, [0], 'read once')
  t.equal(stored.length, 0, 'nobody subscribed: nothing stored')
  webhooks = [webhook('a', ['*'])]
  advance(4_999)
  await publisher.onSecurityEvent(failure)
  t.equal(stored.length, 0, 'another process’s new webhook is seen only after the cache period')
  advance(1)
  await publisher.onSecurityEvent(failure)
  t.equal(stored.length, 1, 'then it is')
  webhooks = []
  publisher.invalidate()
  await publisher.onSecurityEvent(failure)
  t.equal(stored.length, 1, 'a change made in this process applies at once')
  t.same(reads, [0, 5_000, 5_000])
  await publisher.onSecurityEvent({ type: 'step_up', fields: {}, detail: {}, at: 0 })
  t.equal(reads.length, 3, 'an event that is no webhook event reads nothing')
})

t.test('a failed read is logged, not thrown, and not cached', async (t) => {
  let fail = true
  const { publisher, reads, stored } = setUp(async () => {
    if (fail) throw new Error('database away')
    return [webhook('a', ['*'])]
  })
  await t.resolves(publisher.onSecurityEvent(failure))
  fail = false
  await publisher.onSecurityEvent(failure)
  t.equal(reads.length, 2, 'read again')
  t.equal(stored.length, 1)
})
