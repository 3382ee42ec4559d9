import t from 'tap'
import { activeKey, isPublished, nextKey, planMaintenance, planRevocation, planRotation, promotionWaitSeconds, publishedForSeconds, type RotationPolicy } from '../../../src/keys/rotation.js'
import type { KeyRecord } from '../../../src/model/signing-key.js'

const NOW = 1_700_000_000
const DAY = 86_400
const policy: RotationPolicy = { retentionSeconds: 3660, rotationIntervalSeconds: null, removal: 'delete' }

const key = (kid: string, state: KeyRecord['state'], extra: Partial<KeyRecord> = {}): KeyRecord => ({
  kid, state, createdAt: NOW - DAY, activatedAt: state === 'active' ? NOW - DAY : null, retiredAt: null, retiresAt: null, ...extra,
})
const steady = (): KeyRecord[] => [key('A', 'active', { createdAt: NOW - 2 * DAY, activatedAt: NOW - DAY }), key('N', 'next', { createdAt: NOW - DAY })]

t.test('activeKey and nextKey', async (t) => {
  t.equal(activeKey(steady())?.kid, 'A')
  t.equal(nextKey(steady())?.kid, 'N')
  t.equal(activeKey([key('N', 'next')]), undefined)
  const twoNext = [key('N2', 'next', { createdAt: NOW - 10 }), key('N1', 'next', { createdAt: NOW - 20 })]
  t.equal(nextKey(twoNext)?.kid, 'N1', 'the oldest next key is promoted first')
  t.equal(nextKey([key('b', 'next', { createdAt: NOW }), key('a', 'next', { createdAt: NOW })])?.kid, 'a', 'ties broken by kid')
})

t.test('planRotation: next → active, active → retired (retiresAt = now + retention), a new next', async (t) => {
  t.same(planRotation(steady(), NOW, policy), [
    { type: 'retire', kid: 'A', retiresAt: NOW + 3660 },
    { type: 'activate', kid: 'N' },
    { type: 'create', state: 'next' },
  ])
})

t.test('planRotation: without a next key a new active key is created', async (t) => {
  t.same(planRotation([key('A', 'active')], NOW, policy), [
    { type: 'retire', kid: 'A', retiresAt: NOW + 3660 },
    { type: 'create', state: 'active' },
    { type: 'create', state: 'next' },
  ])
})

t.test('planRotation: an empty store gets an active and a next key', async (t) => {
  t.same(planRotation([], NOW, policy), [{ type: 'create', state: 'active' }, { type: 'create', state: 'next' }])
})

t.test('planRotation leaves retired and revoked keys alone', async (t) => {
  const keys = [...steady(), key('R', 'retired', { retiresAt: NOW + 100 }), key('X', 'revoked', { retiresAt: NOW - 5 })]
  const changes = planRotation(keys, NOW, policy)
  t.notOk(changes.some((c) => 'kid' in c && (c.kid === 'R' || c.kid === 'X')))
})

t.test('planMaintenance: a fresh install creates an active and a next key', async (t) => {
  t.same(planMaintenance([], NOW, policy), [{ type: 'create', state: 'active' }, { type: 'create', state: 'next' }])
})

t.test('planMaintenance: a steady store needs nothing', async (t) => {
  t.same(planMaintenance(steady(), NOW, policy), [])
  t.same(planMaintenance(steady(), NOW, { ...policy, rotationIntervalSeconds: 30 * DAY }), [], 'interval not reached')
})

t.test('planMaintenance: no next key → create one', async (t) => {
  t.same(planMaintenance([key('A', 'active')], NOW, policy), [{ type: 'create', state: 'next' }])
})

t.test('planMaintenance: no active key → promote the next one and replace it', async (t) => {
  t.same(planMaintenance([key('N', 'next')], NOW, policy), [{ type: 'activate', kid: 'N' }, { type: 'create', state: 'next' }])
  t.same(planMaintenance([key('N1', 'next', { createdAt: NOW - 20 }), key('N2', 'next', { createdAt: NOW - 10 })], NOW, policy), [{ type: 'activate', kid: 'N1' }], 'another next key remains')
})

t.test('planMaintenance: retired keys are removed once retires_at has passed', async (t) => {
  const keys = [...steady(), key('old', 'retired', { retiredAt: NOW - 4000, retiresAt: NOW - 1 }), key('edge', 'retired', { retiredAt: NOW - 3660, retiresAt: NOW }), key('young', 'retired', { retiresAt: NOW + 1 })]
  t.same(planMaintenance(keys, NOW, policy), [{ type: 'remove', kid: 'old', mode: 'delete' }, { type: 'remove', kid: 'edge', mode: 'delete' }])
  t.same(planMaintenance(keys, NOW, { ...policy, removal: 'archive' }), [{ type: 'remove', kid: 'old', mode: 'archive' }, { type: 'remove', kid: 'edge', mode: 'archive' }])
  t.same(planMaintenance(keys, NOW - 1, policy), [{ type: 'remove', kid: 'old', mode: 'delete' }], 'not before retires_at')
})

t.test('planMaintenance: archived keys are never touched; revoked keys go once the retention window has passed', async (t) => {
  const archived = [...steady(), key('Z', 'archived', { retiresAt: NOW - DAY })]
  t.same(planMaintenance(archived, NOW, policy), [], 'archived keys stay as they are')
  const recentlyRevoked = [...steady(), key('X', 'revoked', { retiredAt: NOW - 3000, retiresAt: NOW - 3000 })]
  t.same(planMaintenance(recentlyRevoked, NOW, policy), [], 'a key revoked within the window is kept (not published)')
  const longRevoked = [...steady(), key('X', 'revoked', { retiredAt: NOW - 3660, retiresAt: NOW - 3660 })]
  t.same(planMaintenance(longRevoked, NOW, policy), [{ type: 'remove', kid: 'X', mode: 'delete' }], 'removed after the window')
})

t.test('planMaintenance: scheduled rotation when activatedAt + interval <= now, not before', async (t) => {
  const scheduled = { ...policy, rotationIntervalSeconds: 30 * DAY }
  const keys = [key('A', 'active', { createdAt: NOW - 40 * DAY, activatedAt: NOW - 30 * DAY }), key('N', 'next', { createdAt: NOW - 10 * DAY })]
  const expected = [{ type: 'retire', kid: 'A', retiresAt: NOW + 3660 }, { type: 'activate', kid: 'N' }, { type: 'create', state: 'next' }]
  t.same(planMaintenance(keys, NOW, scheduled), expected, 'exactly at the interval')
  t.same(planMaintenance(keys, NOW + DAY, scheduled), [{ ...expected[0], retiresAt: NOW + DAY + 3660 }, ...expected.slice(1)], 'after the interval')
  t.same(planMaintenance(keys, NOW - 1, scheduled), [], 'one second before')
  t.same(planMaintenance(keys, NOW + 365 * DAY, policy), [], 'never with rotation off')
})

t.test('planMaintenance: scheduled rotation falls back to createdAt and also removes expired keys', async (t) => {
  const scheduled = { ...policy, rotationIntervalSeconds: DAY }
  const keys = [key('A', 'active', { createdAt: NOW - DAY, activatedAt: null }), key('N', 'next'), key('old', 'retired', { retiresAt: NOW - 1 })]
  t.same(planMaintenance(keys, NOW, scheduled), [
    { type: 'retire', kid: 'A', retiresAt: NOW + 3660 },
    { type: 'activate', kid: 'N' },
    { type: 'create', state: 'next' },
    { type: 'remove', kid: 'old', mode: 'delete' },
  ])
})

t.test('planRevocation', async (t) => {
  t.same(planRevocation(steady(), 'A'), [{ type: 'revoke', kid: 'A' }, { type: 'activate', kid: 'N' }, { type: 'create', state: 'next' }], 'active revoked: next promoted, new next')
  t.same(planRevocation([key('A', 'active')], 'A'), [{ type: 'revoke', kid: 'A' }, { type: 'create', state: 'active' }, { type: 'create', state: 'next' }], 'active revoked without a next key')
  t.same(planRevocation(steady(), 'N'), [{ type: 'revoke', kid: 'N' }, { type: 'create', state: 'next' }], 'the only next key is replaced')
  t.same(planRevocation([...steady(), key('N2', 'next', { createdAt: NOW })], 'N'), [{ type: 'revoke', kid: 'N' }], 'another next key remains')
  t.same(planRevocation([...steady(), key('R', 'retired', { retiresAt: NOW + 10 })], 'R'), [{ type: 'revoke', kid: 'R' }], 'retired key')
  t.same(planRevocation(steady(), 'nope'), [], 'unknown kid: no changes')
  t.same(planRevocation([...steady(), key('X', 'revoked')], 'X'), [], 'already revoked')
  t.same(planRevocation([...steady(), key('Z', 'archived')], 'Z'), [], 'archived')
})

t.test('isPublished', async (t) => {
  t.ok(isPublished(key('N', 'next'), NOW))
  t.ok(isPublished(key('A', 'active'), NOW))
  t.ok(isPublished(key('R', 'retired', { retiresAt: NOW + 1 }), NOW), 'retired: published until retiresAt')
  t.notOk(isPublished(key('R', 'retired', { retiresAt: NOW }), NOW), 'not at retiresAt')
  t.notOk(isPublished(key('R', 'retired', { retiresAt: NOW - 1 }), NOW))
  t.notOk(isPublished(key('R', 'retired', { retiresAt: null }), NOW), 'retired without retiresAt: not published')
  t.notOk(isPublished(key('X', 'revoked', { retiresAt: NOW + DAY }), NOW), 'revoked: never, whatever retiresAt says')
  t.notOk(isPublished(key('Z', 'archived', { retiresAt: NOW + DAY }), NOW), 'archived: never')
})

t.test('publishedForSeconds', async (t) => {
  t.equal(publishedForSeconds(steady(), NOW), DAY)
  t.equal(publishedForSeconds([key('A', 'active')], NOW), null, 'no next key waiting')
  t.equal(publishedForSeconds([key('N2', 'next', { createdAt: NOW - 10 }), key('N1', 'next', { createdAt: NOW - 500 })], NOW), 500, 'the key a rotation would promote')
})

t.test('a rotation cycle on a simulated store keeps exactly one active and one next key', async (t) => {
  let keys: KeyRecord[] = []
  let counter = 0
  let now = NOW
  const apply = (changes: ReturnType<typeof planRotation>) => {
    for (const change of changes) {
      if (change.type === 'create') keys.push(key(`k${counter++}`, change.state, { createdAt: now, activatedAt: change.state === 'active' ? now : null }))
      else if (change.type === 'activate') keys = keys.map((k) => (k.kid === change.kid ? { ...k, state: 'active', activatedAt: now } : k))
      else if (change.type === 'retire') keys = keys.map((k) => (k.kid === change.kid ? { ...k, state: 'retired', retiredAt: now, retiresAt: change.retiresAt } : k))
      else if (change.type === 'revoke') keys = keys.map((k) => (k.kid === change.kid ? { ...k, state: 'revoked' } : k))
      else keys = keys.filter((k) => k.kid !== change.kid)
    }
  }
  apply(planMaintenance(keys, now, policy))
  for (let i = 0; i < 5; i++) {
    now += 1000
    const signingNext = nextKey(keys)!.kid
    t.ok(isPublished(keys.find((k) => k.kid === signingNext)!, now), 'the key about to sign is already published')
    apply(planRotation(keys, now, policy))
    t.equal(activeKey(keys)?.kid, signingNext)
    apply(planMaintenance(keys, now, policy))
    t.equal(keys.filter((k) => k.state === 'active').length, 1)
    t.equal(keys.filter((k) => k.state === 'next').length, 1)
  }
  t.ok(keys.filter((k) => k.state === 'retired').every((k) => k.retiresAt! > now), 'only unexpired retired keys remain')
})

t.test('planMaintenance: a scheduled rotation waits until the next key has been published for minPublishedSeconds', async (t) => {
  const scheduled = { ...policy, rotationIntervalSeconds: DAY, minPublishedSeconds: 300 }
  const active = key('A', 'active', { createdAt: NOW - 2 * DAY, activatedAt: NOW - 2 * DAY })
  t.same(planMaintenance([active, key('N', 'next', { createdAt: NOW - 299 })], NOW, scheduled), [], 'a next key published 299 s ago does not sign yet')
  t.same(
    planMaintenance([active, key('N', 'next', { createdAt: NOW - 300 })], NOW, scheduled).map((change) => change.type),
    ['retire', 'activate', 'create'],
    'published for the whole max-age: promoted',
  )
})

t.test('promotionWaitSeconds: a next key signs only after every instance has had the chance to publish it', async (t) => {
  const strict: RotationPolicy = { ...policy, minPromotionAgeSeconds: 65 }
  t.equal(promotionWaitSeconds(steady(), NOW, strict), 0, 'published a day ago: no wait')
  t.equal(promotionWaitSeconds([key('A', 'active'), key('N', 'next', { createdAt: NOW - 10 })], NOW, strict), 55, 'published 10 s ago: 55 s to go')
  t.equal(promotionWaitSeconds([key('A', 'active')], NOW, strict), 65, 'no next key: one must be published for the whole age')
  t.equal(promotionWaitSeconds([key('A', 'active'), key('N', 'next', { createdAt: NOW })], NOW, policy), 0, 'no minimum configured: no wait')
})

t.test('planMaintenance: a scheduled rotation also waits for the promotion age', async (t) => {
  const due = [key('A', 'active', { activatedAt: NOW - 2 * DAY }), key('N', 'next', { createdAt: NOW - 30 })]
  const scheduled: RotationPolicy = { ...policy, rotationIntervalSeconds: DAY, minPublishedSeconds: 10, minPromotionAgeSeconds: 65 }
  t.same(planMaintenance(due, NOW, scheduled), [], 'the next key is 30 s old: not yet')
  t.ok(planMaintenance(due, NOW + 35, scheduled).some((change) => change.type === 'activate'), 'at 65 s it rotates')
})
