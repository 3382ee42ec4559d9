/**
 * The outbox table on every store: a job stored in a transaction that rolls back never existed;
 * a claim is a lease counted as an attempt; two connections claiming at once never get the same
 * job; finishing needs the claim's lock token; a lapsed lease can be claimed again.
 */
import t from 'tap'
import { connectDatabase } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { parseDatabaseUrl } from '../../src/config/urls.js'
import { insertOutboxJobs, outboxRepository, type NewOutboxJob } from '../../src/db/repositories/outbox.js'
import { availableDatabases } from '../helpers/databases.js'

const NOW = 1_800_000_000
const job = (id: string, nextAttemptAt = NOW, kind = 'test_kind'): NewOutboxJob => ({
  id,
  kind,
  payload: JSON.stringify({ id }),
  createdAt: NOW,
  nextAttemptAt,
})
const claim = (lockToken: string, now = NOW, limit = 100) => ({ kinds: ['test_kind'], now, lockedUntil: now + 60, lockToken, limit })

for (const { name, create } of availableDatabases()) {
  t.test(`${name}: the outbox table`, async (t) => {
    const database = await create()
    const url = parseDatabaseUrl(database.url)
    const db = connectDatabase(url)
    const other = connectDatabase(url)
    t.teardown(async () => {
      await db.destroy()
      await other.destroy()
      await database.drop()
    })
    await migrateToLatest(db)
    const outbox = outboxRepository(db)
    const rival = outboxRepository(other)

    await t.rejects(
      db.transaction().execute(async (trx) => {
        await insertOutboxJobs(trx, [job('rolled-back')])
        throw new Error('the change failed')
      }),
    )
    t.equal(await outbox.countDue(NOW, ['test_kind']), 0, 'a job stored with a change that rolled back does not exist')

    await outbox.enqueue([job('a'), job('b'), job('later', NOW + 30), job('unknown', NOW, 'newer_kind')])
    t.equal(await outbox.countDue(NOW, ['test_kind']), 2, 'due now: two of this kind')
    const first = await outbox.claim(claim('lease-1'))
    t.same(
      first.map((claimed) => [claimed.id, claimed.attempts, claimed.lockToken]).sort(),
      [
        ['a', 1, 'lease-1'],
        ['b', 1, 'lease-1'],
      ],
      'due jobs of known kinds, each claim an attempt',
    )
    t.same(await rival.claim(claim('lease-2')), [], 'claimed jobs are nobody else’s while the lease lasts')
    t.equal(await outbox.countDue(NOW, ['test_kind']), 2, 'still due until finished')

    const [a, b] = first.sort((x, y) => x.id.localeCompare(y.id))
    t.equal(await rival.complete({ ...a!, lockToken: 'lease-2' }, NOW), false, 'finishing needs the claim’s lock token')
    t.equal(await outbox.complete(a!, NOW), true, 'a is done')
    t.equal(await outbox.retry(b!, NOW + 5, 'the relying party answered HTTP 503'), true, 'b is due again later')
    t.equal(await outbox.complete(a!, NOW), false, 'a claim finishes once')
    t.equal(await outbox.countDue(NOW, ['test_kind']), 0)

    // Lapsed leases: a crashed instance's claim is taken over once locked_until has passed.
    const crashed = await outbox.claim(claim('crashed', NOW + 30))
    t.same(crashed.map((claimed) => claimed.id).sort(), ['b', 'later'], 'b’s retry and the later job are due')
    t.same(await rival.claim(claim('too-early', NOW + 60)), [], 'not before the lease ends')
    const taken = await rival.claim(claim('rescue', NOW + 90))
    t.same(
      taken.map((claimed) => [claimed.id, claimed.attempts]).sort(),
      [
        ['b', 3],
        ['later', 2],
      ],
      'the lapsed claims, each counted as an attempt',
    )
    t.equal(await outbox.complete(crashed[0]!, NOW + 91), false, 'the crashed holder can no longer finish it')
    t.equal(
      await rival.fail(
        taken.find((claimed) => claimed.id === 'later')!,
        NOW + 91,
        'given up',
      ),
      true,
    )

    // Many jobs, two connections claiming at once in small batches: every job exactly once.
    await outbox.enqueue(Array.from({ length: 40 }, (_, i) => job(`bulk-${i}`, NOW + 100)))
    const seen: string[] = []
    const drain = async (repository: typeof outbox, token: string) => {
      for (;;) {
        const batch = await repository.claim(claim(`${token}-${seen.length}`, NOW + 100, 3))
        if (batch.length === 0) return
        for (const claimed of batch) {
          seen.push(claimed.id)
          await repository.complete(claimed, NOW + 100)
        }
      }
    }
    await Promise.all([drain(outbox, 'x'), drain(rival, 'y')])
    const bulk = seen.filter((id) => id.startsWith('bulk-'))
    t.equal(bulk.length, 40, 'forty claims for forty jobs')
    t.equal(new Set(bulk).size, 40, 'none claimed twice')
    t.equal(await outbox.countDue(NOW + 1000, ['test_kind']), 1, 'only b is left (claimed by the rescuer, never finished)')
  })
}
