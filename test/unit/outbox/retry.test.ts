import t from 'tap'
import { DEFAULT_RETRY_SCHEDULE, retryDelaySeconds } from '../../../src/outbox/retry.js'

t.test('retryDelaySeconds: doubling from the first delay, capped, then given up', async (t) => {
  const schedule = { firstDelaySeconds: 5, maxDelaySeconds: 60, maxAttempts: 6 }
  t.same(
    [1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelaySeconds(attempt, schedule)),
    [5, 10, 20, 40, 60, null, null],
    'after the last attempt there is no next one',
  )
  t.equal(retryDelaySeconds(1, { ...schedule, maxAttempts: 1 }), null, 'one attempt: no retry')
  t.equal(retryDelaySeconds(3, { ...schedule, firstDelaySeconds: 0 }), 0, 'a zero first delay retries at once (tests)')
  t.throws(() => retryDelaySeconds(0, schedule), TypeError, 'attempts count from 1')
  t.throws(() => retryDelaySeconds(1.5, schedule), TypeError)
})

t.test('the default schedule: a dozen attempts within the hour, no wait over ten minutes', async (t) => {
  const delays: number[] = []
  for (let attempt = 1; ; attempt++) {
    const delay = retryDelaySeconds(attempt, DEFAULT_RETRY_SCHEDULE)
    if (delay === null) break
    delays.push(delay)
  }
  t.equal(delays.length + 1, DEFAULT_RETRY_SCHEDULE.maxAttempts)
  t.ok(Math.max(...delays) <= 600)
  const total = delays.reduce((sum, delay) => sum + delay, 0)
  t.ok(total > 30 * 60 && total < 60 * 60, `${total} s between the first and the last attempt`)
})
