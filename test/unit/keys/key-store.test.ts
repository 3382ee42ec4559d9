import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import pino from 'pino'
import { keyRetentionSeconds } from '../../../src/deps.js'
import { loadOrCreateKek } from '../../../src/keys/kek.js'
import { KeyPromotionTooEarly, KeyStore } from '../../../src/keys/key-store.js'
import type { RotationPolicy } from '../../../src/keys/rotation.js'
import { createTestApp, type TestApp } from '../../helpers/test-app.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

interface Jwk { kty: string; kid: string; use: string; alg: string; n: string; e: string; [k: string]: unknown }

async function setup(t: Test): Promise<TestApp> {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  return ctx
}

/** One app shared by the read-only tests (RSA generation is slow); mutating tests build their own. */
let shared: Promise<TestApp> | undefined
function readOnly(): Promise<TestApp> {
  if (!shared) {
    shared = createTestApp()
    t.teardown(async () => (await shared!).close())
  }
  return shared
}

const jwks = (store: KeyStore): Jwk[] => (JSON.parse(store.jwksJson()) as { keys: Jwk[] }).keys
const kids = (store: KeyStore): string[] => jwks(store).map((key) => key.kid)

function secondStore(ctx: TestApp, policy: Partial<RotationPolicy> = {}, kek = loadOrCreateKek(ctx.deps.config.keysDir, null)): KeyStore {
  return new KeyStore({
    repository: ctx.deps.repos.signingKeys,
    kek,
    clock: ctx.clock,
    policy: { retentionSeconds: keyRetentionSeconds(ctx.deps.config), rotationIntervalSeconds: null, removal: 'delete', ...policy },
    modulusLength: 2048,
    log: pino({ level: 'silent' }),
  })
}

async function signWith(store: KeyStore): Promise<string> {
  const { kid, alg, key } = store.signingKey()
  return new SignJWT({ sub: 'probe' }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('5m').sign(key)
}

t.test('a fresh store has exactly one active and one next key', async (t) => {
  const ctx = await readOnly()
  const keys = await ctx.deps.keys.list()
  t.equal(keys.length, 2)
  t.equal(keys.filter((k) => k.state === 'active').length, 1)
  t.equal(keys.filter((k) => k.state === 'next').length, 1)
  const active = keys.find((k) => k.state === 'active')!
  t.equal(ctx.deps.keys.signingKey().kid, active.kid, 'the active key signs')
  t.equal(ctx.deps.keys.signingKey().alg, 'RS256')
  for (const key of keys) t.notOk('sealedPrivateKey' in key || 'publicJwk' in key, 'list() exposes no key material')
})

t.test('JWKS: public RSA members only, RS256, unique kids, use sig', async (t) => {
  const ctx = await readOnly()
  const keys = jwks(ctx.deps.keys)
  t.equal(keys.length, 2, 'active and next are published')
  t.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'unique kids')
  for (const key of keys) {
    for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `${key.kid} has no ${member}`)
    t.equal(key.kty, 'RSA')
    t.equal(key.use, 'sig')
    t.equal(key.alg, 'RS256')
    t.ok(Buffer.from(key.n, 'base64url').length * 8 >= 2048, 'RSA modulus of at least 2048 bits')
    t.equal(key.e, 'AQAB')
  }
  t.equal(keys[0]!.kid, ctx.deps.keys.signingKey().kid, 'the signing key comes first')
  t.notMatch(ctx.deps.keys.jwksJson(), /PRIVATE|"d":/)
})

t.test('tokens signed by the store verify against its JWKS', async (t) => {
  const ctx = await readOnly()
  const token = await signWith(ctx.deps.keys)
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(ctx.deps.keys.jwksJson())), { algorithms: ['RS256'] })
  t.equal(payload.sub, 'probe')
  t.equal(protectedHeader.kid, ctx.deps.keys.signingKey().kid)
  t.ok(ctx.deps.keys.verificationKey(protectedHeader.kid), 'verificationKey finds it')
  t.equal(ctx.deps.keys.verificationKey('no-such-kid'), undefined)
  t.equal(ctx.deps.keys.verificationKey(undefined), undefined)
})

t.test('private keys are sealed in the database', async (t) => {
  const ctx = await readOnly()
  const rows = await ctx.deps.store.db.selectFrom('signing_keys').select(['kid', 'private_key', 'public_jwk']).execute()
  for (const row of rows) {
    t.match(row.private_key, /^v1\./, 'an envelope')
    t.notMatch(row.private_key, /BEGIN|PRIVATE/)
    for (const member of PRIVATE_MEMBERS) t.notOk(member in JSON.parse(row.public_jwk), `public_jwk has no ${member}`)
  }
})

t.test('rotate promotes the key that was already published as next', async (t) => {
  const ctx = await setup(t)
  const store = ctx.deps.keys
  const before = await store.list()
  const oldActive = before.find((k) => k.state === 'active')!.kid
  const oldNext = before.find((k) => k.state === 'next')!.kid
  const publishedBefore = kids(store)
  ctx.clock.advance(600)
  const outcome = await store.rotate({ immediately: true })
  t.equal(outcome.activeKid, oldNext)
  t.equal(store.signingKey().kid, oldNext, 'the previous next key signs now')
  t.ok(publishedBefore.includes(store.signingKey().kid), 'the new signing kid was in the JWKS before rotation')
  t.equal(outcome.promotedPublishedSeconds, 600, 'it had been published for 600 s')
  const after = await store.list()
  t.equal(after.filter((k) => k.state === 'active').length, 1)
  t.equal(after.filter((k) => k.state === 'next').length, 1)
  const retired = after.find((k) => k.kid === oldActive)!
  t.equal(retired.state, 'retired')
  t.equal(retired.retiresAt, ctx.clock.now() + keyRetentionSeconds(ctx.deps.config))
  t.ok(kids(store).includes(oldActive), 'the retired key is still published')
  t.equal(kids(store).length, 3, 'active, next and retired')
  t.equal(decodeProtectedHeader(await signWith(store)).kid, oldNext, 'new tokens carry the new kid')
})

t.test('a retired key stays in the JWKS until its retention passes', async (t) => {
  const ctx = await setup(t)
  const store = ctx.deps.keys
  const oldActive = store.signingKey().kid
  const oldToken = await signWith(store)
  await store.rotate({ immediately: true })
  const retention = keyRetentionSeconds(ctx.deps.config)
  ctx.clock.advance(retention - 1)
  await store.refresh()
  await store.maintain()
  t.ok(kids(store).includes(oldActive), 'one second before retiresAt: still published')
  t.ok(store.verificationKey(oldActive), 'and still verifies tokens it signed')
  t.equal((await jwtVerify(oldToken, createLocalJWKSet(JSON.parse(store.jwksJson())))).protectedHeader.kid, oldActive, 'a token it signed verifies against the JWKS')
  ctx.clock.advance(1)
  await store.refresh()
  t.notOk(kids(store).includes(oldActive), 'at retiresAt: gone from the JWKS after refresh, without any database change')
  t.equal(store.verificationKey(oldActive), undefined)
  await t.rejects(jwtVerify(oldToken, createLocalJWKSet(JSON.parse(store.jwksJson()))), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  await store.maintain()
  t.notOk((await store.list()).some((k) => k.kid === oldActive), 'maintain() deletes the row')
  t.equal(kids(store).length, 2)
})

t.test('with the archive policy an expired retired key is kept without its private half', async (t) => {
  const ctx = await setup(t)
  const store = secondStore(ctx, { removal: 'archive' })
  await store.initialise()
  const oldActive = store.signingKey().kid
  await store.rotate({ immediately: true })
  ctx.clock.advance(keyRetentionSeconds(ctx.deps.config))
  await store.maintain()
  const row = await ctx.deps.store.db.selectFrom('signing_keys').selectAll().where('kid', '=', oldActive).executeTakeFirstOrThrow()
  t.equal(row.state, 'archived')
  t.equal(row.private_key, '', 'private key material erased')
  t.notOk(kids(store).includes(oldActive))
})

t.test('revoke removes a key from the JWKS at once and a new key signs', async (t) => {
  const ctx = await setup(t)
  const store = ctx.deps.keys
  const compromised = store.signingKey().kid
  const next = (await store.list()).find((k) => k.state === 'next')!.kid
  const changes = await store.revoke(compromised)
  t.ok(changes.some((c) => c.type === 'revoke'))
  t.notOk(kids(store).includes(compromised), 'no refresh needed')
  t.equal(store.verificationKey(compromised), undefined, 'tokens it signed no longer verify')
  t.equal(store.signingKey().kid, next, 'the next key signs')
  t.not(decodeProtectedHeader(await signWith(store)).kid, compromised)
  const keys = await store.list()
  t.equal(keys.find((k) => k.kid === compromised)!.state, 'revoked')
  t.equal(keys.filter((k) => k.state === 'active').length, 1)
  t.equal(keys.filter((k) => k.state === 'next').length, 1, 'a new next key replaces the promoted one')
  t.same(await store.revoke('no-such-kid'), [], 'unknown kid: no changes')
  t.same(await store.revoke(compromised), [], 'already revoked: no changes')
})

t.test('a revoked retired key leaves the JWKS before its retention ends', async (t) => {
  const ctx = await setup(t)
  const store = ctx.deps.keys
  const old = store.signingKey().kid
  await store.rotate({ immediately: true })
  t.ok(kids(store).includes(old))
  await store.revoke(old)
  t.notOk(kids(store).includes(old))
  ctx.clock.advance(10)
  await store.maintain()
  t.equal((await store.list()).find((k) => k.kid === old)?.state, 'revoked', 'revoked rows are kept as a record')
})

t.test('a second KeyStore over the same database sees rotations after refresh()', async (t) => {
  const ctx = await setup(t)
  const other = secondStore(ctx)
  await other.initialise()
  t.equal(other.signingKey().kid, ctx.deps.keys.signingKey().kid, 'initialise() reuses the existing keys')
  t.equal((await other.list()).length, 2, 'and creates none')
  t.same(kids(other).sort(), kids(ctx.deps.keys).sort())
  const outcome = await ctx.deps.keys.rotate({ immediately: true })
  t.not(other.signingKey().kid, outcome.activeKid, 'stale until refresh')
  await other.refresh()
  t.equal(other.signingKey().kid, outcome.activeKid, 'sees the rotation after refresh()')
  t.same(kids(other).sort(), kids(ctx.deps.keys).sort())
  await other.revoke(outcome.activeKid)
  await ctx.deps.keys.refresh()
  t.notOk(kids(ctx.deps.keys).includes(outcome.activeKid), 'and the other way round')
  t.equal(ctx.deps.keys.signingKey().kid, other.signingKey().kid)
})

t.test('a KeyStore with the wrong key-encryption key cannot start', async (t) => {
  const ctx = await setup(t)
  const wrong = secondStore(ctx, {}, randomBytes(32))
  await t.rejects(wrong.initialise(), { name: 'KeyStoreError' })
})

t.test('concurrent rotations from two instances never leave two active keys', async (t) => {
  const ctx = await setup(t)
  const a = ctx.deps.keys
  const b = secondStore(ctx)
  await b.initialise()
  for (let round = 0; round < 3; round++) {
    const [ra, rb] = await Promise.all([a.rotate({ immediately: true }), b.rotate({ immediately: true })])
    const keys = await a.list()
    t.equal(keys.filter((k) => k.state === 'active').length, 1, `round ${round}: one active key`)
    t.ok(keys.filter((k) => k.state === 'next').length >= 1, `round ${round}: a next key`)
    await a.refresh()
    await b.refresh()
    const active = keys.find((k) => k.state === 'active')!.kid
    t.equal(a.signingKey().kid, active)
    t.equal(b.signingKey().kid, active)
    t.ok([ra.activeKid, rb.activeKid].includes(active), 'the last rotation applied decides the signing key')
    t.equal(new Set(kids(a)).size, kids(a).length, 'kids stay unique')
  }
  const rows = await ctx.deps.store.db.selectFrom('signing_keys').select('state').where('state', '=', 'active').execute()
  t.equal(rows.length, 1)
})

t.test('a next key is promoted only once published for KEY_REFRESH_INTERVAL + CLOCK_SKEW', async (t) => {
  const ctx = await setup(t)
  const store = ctx.deps.keys
  const minAge = ctx.deps.config.keyRefreshInterval + ctx.deps.config.clockSkew
  t.equal(minAge, 65, 'defaults: 5 s + 60 s')
  const waiting = (await store.list()).find((k) => k.state === 'next')!
  ctx.clock.advance(minAge - 5)
  const early = await t.rejects(store.rotate())
  t.type(early, KeyPromotionTooEarly)
  t.match(early, { kid: waiting.kid, waitSeconds: 5 }, 'names the key and how long to wait')
  t.equal(store.signingKey().kid, (await store.list()).find((k) => k.state === 'active')!.kid, 'nothing changed')
  ctx.clock.advance(5)
  t.equal((await store.rotate()).activeKid, waiting.kid, 'promoted once old enough')
  const fresh = (await store.list()).find((k) => k.state === 'next')!
  await t.rejects(store.rotate(), { name: 'KeyPromotionTooEarly', kid: fresh.kid, waitSeconds: minAge }, 'back to back: the new next key must wait its whole age')
  t.equal((await store.rotate({ immediately: true })).activeKid, fresh.kid, 'immediately: an emergency skips the wait')
})
