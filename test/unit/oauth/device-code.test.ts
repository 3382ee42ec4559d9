import t from 'tap'
import {
  decidePoll,
  deviceAuthorizationScope,
  formatUserCode,
  generateUserCode,
  normaliseUserCode,
  pendingError,
  USER_CODE_ALPHABET,
  verificationState,
} from '../../../src/oauth/grants/device-code.js'
import { DEVICE_CODE_GRANT } from '../../../src/model/client.js'
import type { StoredDeviceAuthorization } from '../../../src/model/device-authorization.js'
import type { Api } from '../../../src/model/api.js'
import { makeClient, makePublicClient, oauthError } from '../fixtures/index.js'

const START = 1_700_000_000
const thrownBy = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}
const client = makePublicClient({ grantTypes: [DEVICE_CODE_GRANT], redirectUris: [] })
const pending = (extra: Partial<StoredDeviceAuthorization> = {}): StoredDeviceAuthorization => ({
  deviceCodeHash: 'device-hash',
  userCodeHash: 'user-hash',
  clientId: client.id,
  scope: 'openid',
  resources: [],
  createdAt: START,
  expiresAt: START + 600,
  interval: 5,
  status: 'pending',
  lastPolledAt: null,
  approval: null,
  decidedAt: null,
  consumedAt: null,
  grantId: null,
  ...extra,
})
const approval = { userId: 'user-1', sessionIdHash: 'sess', authTime: START, amr: ['pwd'] as const }
const approved = (extra: Partial<StoredDeviceAuthorization> = {}) =>
  pending({ status: 'approved', approval: { ...approval, amr: [...approval.amr] }, decidedAt: START + 10, ...extra })

t.test('user codes: 8 letters of the consonant alphabet, uniform, shown as XXXX-XXXX', async (t) => {
  t.equal(USER_CODE_ALPHABET.length, 20)
  t.notMatch(USER_CODE_ALPHABET, /[AEIOUY0-9]/, 'no vowels (no words), no digits')
  const seen = new Map<string, number>()
  for (let i = 0; i < 2000; i++) {
    const code = generateUserCode()
    t.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/)
    for (const letter of code) seen.set(letter, (seen.get(letter) ?? 0) + 1)
  }
  t.equal(seen.size, 20, 'every letter occurs')
  // 16000 letters over 20: 800 each on average; a biased generator (modulo) would skew the first 16.
  for (const [letter, count] of seen) t.ok(count > 600 && count < 1000, `${letter} occurs about 1/20 of the time (${count})`)
  t.equal(formatUserCode('BCDFGHJK'), 'BCDF-GHJK')
})

t.test('rejection sampling: bytes that would bias the alphabet are skipped', async (t) => {
  // 240..255 are skipped; 0 → B, 19 → Z, 20 → B.
  const bytes = [255, 240, 0, 19, 20, 39, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  t.equal(
    generateUserCode(() => Uint8Array.from(bytes)),
    'BZBZCDFG',
  )
})

t.test('typed codes are normalised: case, spaces and dashes do not matter', async (t) => {
  t.equal(normaliseUserCode('BCDF-GHJK'), 'BCDFGHJK')
  t.equal(normaliseUserCode('bcdf ghjk'), 'BCDFGHJK')
  t.equal(normaliseUserCode('  b-c-d-f-g-h-j-k  '), 'BCDFGHJK')
  t.equal(normaliseUserCode('bcdf–ghjk'), 'BCDFGHJK', 'an en dash (phones replace dashes)')
  t.equal(normaliseUserCode('BCDF-GHJ'), null, 'too short')
  t.equal(normaliseUserCode('BCDF-GHJKL'), null, 'too long')
  t.equal(normaliseUserCode('BCDF-GHJA'), null, 'a letter not in the alphabet')
  t.equal(normaliseUserCode('BCDF-GHJ1'), null, 'a digit')
  t.equal(normaliseUserCode(''), null)
})

t.test('scope: like /authorize — openid (or an API) needed, unregistered scopes dropped', async (t) => {
  const limited = makePublicClient({ scopes: ['openid', 'profile', 'offline_access'] })
  t.equal(deviceAuthorizationScope('openid profile email', limited, []), 'openid profile')
  t.equal(
    deviceAuthorizationScope('openid offline_access', makeClient({ firstParty: false, scopes: ['openid', 'offline_access'] }), []),
    'openid offline_access',
    'offline_access kept: the page always asks',
  )
  t.throws(() => deviceAuthorizationScope('profile', limited, []), oauthError('invalid_scope'))
  t.throws(() => deviceAuthorizationScope(undefined, limited, []), oauthError('invalid_scope'))
  t.throws(() => deviceAuthorizationScope('openid "x', limited, []), oauthError('invalid_scope'))
  const api: Api = {
    identifier: 'https://api.example',
    name: 'Orders',
    scopes: [{ name: 'orders:read', description: 'Read orders' }],
    accessTokenTtl: null,
    firstPartyOnly: false,
    createdAt: START,
  }
  t.equal(deviceAuthorizationScope('orders:read', limited, [api]), 'orders:read', 'an API request needs no openid')
})

t.test('verification page states', async (t) => {
  t.equal(verificationState(undefined, START), 'unknown')
  t.equal(verificationState(pending(), START), 'pending')
  t.equal(verificationState(pending(), START + 600), 'expired', 'expires_at is exclusive')
  t.equal(verificationState(approved(), START + 20), 'decided')
  t.equal(verificationState(pending({ status: 'denied' }), START + 20), 'decided')
  t.equal(verificationState(approved(), START + 700), 'decided', 'a used code says used, not expired')
})

t.test('polling: RFC 8628 §3.5 answers', async (t) => {
  t.throws(() => decidePoll(undefined, client, START), oauthError('invalid_grant'), 'unknown device code')
  t.throws(() => decidePoll(pending(), makePublicClient({ id: 'other' }), START), oauthError('invalid_grant'), 'another client')
  t.throws(
    () => decidePoll(approved({ consumedAt: START + 5, grantId: 'g' }), makePublicClient({ id: 'other' }), START),
    oauthError('invalid_grant'),
    "another client learns nothing about the code's state",
  )
  t.match(decidePoll(pending(), client, START), { outcome: 'pending', interval: 5 }, 'first poll')
  t.match(decidePoll(pending({ lastPolledAt: START }), client, START + 4), { outcome: 'slow_down', interval: 10 }, 'too soon: +5 s')
  t.match(decidePoll(pending({ lastPolledAt: START }), client, START + 5), { outcome: 'pending', interval: 5 }, 'after the interval')
  t.match(decidePoll(pending({ lastPolledAt: START, interval: 10 }), client, START + 9), { outcome: 'slow_down', interval: 15 })
  t.throws(() => decidePoll(pending(), client, START + 600), oauthError('expired_token'))
  t.match(
    thrownBy(() => decidePoll(pending({ status: 'denied' }), client, START + 1)),
    { error: 'access_denied', status: 400 },
  )
  t.match(
    decidePoll(approved({ lastPolledAt: START + 9 }), client, START + 10),
    { outcome: 'issue', approval: { userId: 'user-1' } },
    'approved: answered whatever the interval',
  )
  t.throws(() => decidePoll(approved(), client, START + 600), oauthError('expired_token'), 'approved too late')
  t.same(decidePoll(approved({ consumedAt: START + 11, grantId: 'g' }), client, START + 12), { outcome: 'replayed', grantId: 'g' })
  t.same(
    decidePoll(approved({ consumedAt: START + 11, grantId: 'g' }), client, START + 900),
    { outcome: 'replayed', grantId: 'g' },
    'replay after expiry is still a replay',
  )
})

t.test('pending errors', async (t) => {
  t.match(pendingError({ outcome: 'pending', interval: 5 }), { error: 'authorization_pending', status: 400 })
  t.match(pendingError({ outcome: 'slow_down', interval: 10 }), { error: 'slow_down', status: 400, description: /10 seconds/ })
})
