import t from 'tap'
import { argon2idHasher, concurrencyLimit } from '../../../src/accounts/password-hasher.js'

/** A task that stays running until released, recording how many ran at once. */
function gate() {
  let running = 0
  let peak = 0
  const order: number[] = []
  const releases: (() => void)[] = []
  const task =
    (id: number, fail = false) =>
    async () => {
      running++
      peak = Math.max(peak, running)
      order.push(id)
      await new Promise<void>((resolve) => releases.push(resolve))
      running--
      if (fail) throw new Error(`task ${id} failed`)
      return id
    }
  const releaseOne = async () => {
    releases.shift()?.()
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }
  return { task, releaseOne, peak: () => peak, order }
}

t.test('concurrencyLimit: never more than the limit at once, first come first served', async (t) => {
  const limited = concurrencyLimit(2)
  const g = gate()
  const results = [1, 2, 3, 4, 5].map((id) => limited(g.task(id)))
  await Promise.resolve()
  t.same(g.order, [1, 2], 'two start at once')
  for (let i = 0; i < 5; i++) await g.releaseOne()
  t.same(await Promise.all(results), [1, 2, 3, 4, 5], 'every task completes with its own result')
  t.equal(g.peak(), 2, 'at most two ran at the same time')
  t.same(g.order, [1, 2, 3, 4, 5], 'waiters start in arrival order')
})

t.test('concurrencyLimit: a failing task frees its slot and its error reaches its caller', async (t) => {
  const limited = concurrencyLimit(1)
  const g = gate()
  const failing = limited(g.task(1, true))
  const next = limited(g.task(2))
  await g.releaseOne()
  await t.rejects(failing, /task 1 failed/)
  await g.releaseOne()
  t.equal(await next, 2, 'the next task ran after the failure')
  t.equal(g.peak(), 1)
})

t.test('argon2idHasher: many verifications at once all complete correctly', async (t) => {
  const hasher = argon2idHasher()
  const hash = await hasher.hash('correct horse battery staple')
  const checks = await Promise.all(
    Array.from({ length: 8 }, (_, i) => hasher.verify(hash, i % 2 === 0 ? 'correct horse battery staple' : 'wrong')),
  )
  t.same(checks, [true, false, true, false, true, false, true, false])
  t.equal(await hasher.verify('not a hash', 'x'), false, 'a malformed hash verifies as false')
})
