/**
 * The key lifecycle against a frozen clock, through the real app: retention of retired keys,
 * removal (delete or archive), scheduled rotation, tokens surviving rotation, KEY_SIZE, and the
 * rotate warning when the promoted key is younger than the JWKS max-age.
 */
import t, { type Test } from 'tap'
import { decodeProtectedHeader } from 'jose'
import { runCli } from '../../src/cli/main.js'
import { loadConfig } from '../../src/config/config.js'
import { authorize, CookieJar, pkcePair } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const TTLS = { ACCESS_TOKEN_TTL: '10m', ID_TOKEN_TTL: '1h', CLOCK_SKEW: '60s' }
/** max(ACCESS_TOKEN_TTL, ID_TOKEN_TTL) + CLOCK_SKEW */
const RETENTION = 3600 + 60

async function setup(t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await createTestApp({ env: { ...TTLS, LOGIN_RATE_LIMIT: '100000', ...env } })
  t.teardown(() => ctx.close())
  return ctx
}

async function jwks(ctx: TestApp): Promise<{ kid: string; n: string; [member: string]: unknown }[]> {
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return (response.json() as { keys: { kid: string; n: string }[] }).keys
}
const publishedKids = async (ctx: TestApp) => (await jwks(ctx)).map((key) => key.kid).sort()
const stateOf = async (ctx: TestApp) => Object.fromEntries((await ctx.deps.keys.list()).map((key) => [key.kid, key.state]))

/** Runs the store's periodic work the way the server's timer does. */
async function tick(ctx: TestApp): Promise<void> {
  await ctx.deps.keys.maintain()
  await ctx.deps.keys.refresh()
}

async function userAccessToken(ctx: TestApp): Promise<string> {
  const { client, secret } = await ctx.addClient()
  const user = await ctx.addUser()
  const { verifier, challenge } = pkcePair()
  const params = { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUris[0]!, scope: 'openid email', state: 's', code_challenge: challenge, code_challenge_method: 'S256' }
  const { location } = await authorize(ctx, new CookieJar(), params, user)
  const code = location?.searchParams.get('code')
  if (!code) throw new Error('no authorization code')
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUris[0]!, code_verifier: verifier }).toString(),
  })
  if (response.statusCode !== 200) throw new Error(`token: ${response.body}`)
  return (response.json() as { access_token: string }).access_token
}

const userinfoStatus = async (ctx: TestApp, token: string) => (await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${token}` } })).statusCode

for (const mode of ['delete', 'archive'] as const) {
  t.test(`a retired key stays published for the retention window, then is removed (RETIRED_KEYS=${mode})`, async (t) => {
    const ctx = await setup(t, { RETIRED_KEYS: mode })
    const before = await ctx.deps.keys.list()
    const old = before.find((key) => key.state === 'active')!.kid
    const next = before.find((key) => key.state === 'next')!.kid
    const rotatedAt = ctx.clock.now()
    const outcome = await ctx.deps.keys.rotate({ immediately: true })
    t.equal(outcome.activeKid, next, 'the next key is promoted')
    const retired = (await ctx.deps.keys.list()).find((key) => key.kid === old)!
    t.equal(retired.state, 'retired')
    t.equal(retired.retiresAt, rotatedAt + RETENTION, 'retires_at = rotation + max(ACCESS_TOKEN_TTL, ID_TOKEN_TTL) + CLOCK_SKEW')
    const fresh = (await ctx.deps.keys.list()).find((key) => key.state === 'next')!.kid
    t.same(await publishedKids(ctx), [old, next, fresh].sort(), 'retired, active and the fresh next key are published')

    ctx.clock.advance(RETENTION - 1)
    await tick(ctx)
    t.ok((await publishedKids(ctx)).includes(old), 'still published one second before the window ends')
    t.equal((await stateOf(ctx))[old], 'retired')

    ctx.clock.advance(1)
    await ctx.deps.keys.refresh()
    t.notOk((await publishedKids(ctx)).includes(old), 'refresh alone drops it from JWKS once the window has passed')
    await tick(ctx)
    t.same(await publishedKids(ctx), [next, fresh].sort(), 'JWKS: active and next only')
    const rows = (await ctx.deps.repos.signingKeys.load()).keys
    const row = rows.find((key) => key.kid === old)
    if (mode === 'delete') {
      t.equal(row, undefined, 'the row is deleted')
      t.notOk(old in (await stateOf(ctx)), 'and absent from list()')
    } else {
      t.equal(row?.state, 'archived', 'the row is kept, archived')
      t.equal((await stateOf(ctx))[old], 'archived', 'visible as archived in list()')
      t.equal(row?.sealedPrivateKey, '', 'the archived row no longer holds the private key')
      ctx.clock.advance(RETENTION * 10)
      await tick(ctx)
      t.notOk((await publishedKids(ctx)).includes(old), 'an archived key is never published again')
    }
  })
}

t.test('KEY_ROTATION_INTERVAL=2d: maintain() rotates on schedule and not before', async (t) => {
  const ctx = await setup(t, { KEY_ROTATION_INTERVAL: '2d' })
  t.equal(ctx.deps.config.jwksMaxAge, 300, 'JWKS_MAX_AGE default 5m')
  const before = await stateOf(ctx)
  const active = Object.keys(before).find((kid) => before[kid] === 'active')!
  const next = Object.keys(before).find((kid) => before[kid] === 'next')!

  ctx.clock.advance(2 * 86400 - 1)
  t.same(await ctx.deps.keys.maintain(), [], 'nothing to do one second before the interval')
  t.same(await stateOf(ctx), before, 'the store is unchanged')

  ctx.clock.advance(1)
  const changes = await ctx.deps.keys.maintain()
  t.ok(changes.some((change) => change.type === 'activate' && change.kid === next), 'the old next key is activated')
  await ctx.deps.keys.refresh()
  const after = await stateOf(ctx)
  t.equal(after[next], 'active')
  t.equal(after[active], 'retired')
  t.equal(Object.values(after).filter((state) => state === 'next').length, 1, 'a fresh next key')
  t.equal(ctx.deps.keys.signingKey().kid, next, 'the promoted key signs')
  t.same(await ctx.deps.keys.maintain(), [], 'and the schedule restarts from the activation')

  ctx.clock.advance(2 * 86400)
  await tick(ctx)
  t.not(ctx.deps.keys.signingKey().kid, next, 'two days later it rotates again')
  t.notOk((await publishedKids(ctx)).includes(active), 'the first key has long left the JWKS')
})

// docs/security.md §F: JWKS max-age must stay shorter than the time a next key is published before it
// signs. The config check (interval > max-age) covers the usual case, where the next key was
// created at the previous rotation; after the next key is revoked its replacement is brand new.
t.test('a scheduled rotation does not promote a next key published for less than JWKS_MAX_AGE', async (t) => {
  const ctx = await setup(t, { KEY_ROTATION_INTERVAL: '2d' })
  const old = (await ctx.deps.keys.list()).find((key) => key.state === 'next')!
  ctx.clock.advance(2 * 86400 - 60)
  await ctx.deps.keys.revoke(old.kid)
  const replacement = (await ctx.deps.keys.list()).find((key) => key.state === 'next')!
  t.equal(replacement.createdAt, ctx.clock.now(), 'a replacement next key was created and published just now')

  ctx.clock.advance(60)
  await tick(ctx)
  const signing = (await ctx.deps.keys.list()).find((key) => key.state === 'active')!
  t.ok(
    ctx.clock.now() - signing.createdAt >= ctx.deps.config.jwksMaxAge,
    `the key signing now was published ${ctx.clock.now() - signing.createdAt}s before signing; JWKS caches may be ${ctx.deps.config.jwksMaxAge}s old`,
  )
  ctx.clock.advance(ctx.deps.config.jwksMaxAge)
  await tick(ctx)
  t.equal(ctx.deps.keys.signingKey().kid, replacement.kid, 'the replacement signs once it has been published for JWKS_MAX_AGE')
})

t.test('KEY_ROTATION_INTERVAL must exceed JWKS_MAX_AGE', async (t) => {
  t.throws(() => loadConfig({ KEY_ROTATION_INTERVAL: '2m' }), /KEY_ROTATION_INTERVAL/)
  t.doesNotThrow(() => loadConfig({ KEY_ROTATION_INTERVAL: '2d' }))
})

t.test('an access token signed before a rotation still works at /userinfo after it', async (t) => {
  const ctx = await setup(t)
  const token = await userAccessToken(ctx)
  const signer = decodeProtectedHeader(token).kid
  t.equal(await userinfoStatus(ctx, token), 200)
  await ctx.deps.keys.rotate({ immediately: true })
  ctx.clock.advance(60)
  await tick(ctx)
  t.not(ctx.deps.keys.signingKey().kid, signer, 'another key signs now')
  t.equal(await userinfoStatus(ctx, token), 200, 'the old token still verifies')
  await ctx.deps.keys.rotate({ immediately: true })
  t.equal(await userinfoStatus(ctx, token), 200, 'even after a second rotation')
  ctx.clock.advance(600)
  t.equal(await userinfoStatus(ctx, token), 401, 'until it expires')
})

t.test('a key revoked in an emergency: tokens it signed stop working at once, even ones verified just before', async (t) => {
  const ctx = await setup(t)
  const token = await userAccessToken(ctx)
  const signer = decodeProtectedHeader(token).kid!
  const introspected = async () => {
    const { client, secret } = await ctx.addClient({ introspect: true })
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` },
      payload: new URLSearchParams({ token }).toString(),
    })
    return (response.json() as { active: boolean }).active
  }
  // Verified twice each: the second answer comes from the verified-token cache.
  t.equal(await userinfoStatus(ctx, token), 200)
  t.equal(await userinfoStatus(ctx, token), 200, 'the same token again')
  t.equal(await introspected(), true)
  t.equal(await introspected(), true, 'introspected again')
  t.ok(ctx.deps.verifiedTokens.size > 0, 'verdicts are remembered')
  await ctx.deps.keys.rotate({ immediately: true })
  await ctx.deps.keys.revoke(signer)
  t.equal(await userinfoStatus(ctx, token), 401, 'userinfo refuses it')
  t.equal(await introspected(), false, 'introspection calls it inactive')
})

t.test('KEY_SIZE=3072 produces 3072-bit keys', async (t) => {
  const ctx = await setup(t, { KEY_SIZE: '3072' })
  await ctx.deps.keys.rotate({ immediately: true })
  const keys = await jwks(ctx)
  t.equal(keys.length, 3)
  for (const key of keys) t.equal(Buffer.from(key.n, 'base64url').length * 8, 3072, `${key.kid} has a 3072-bit modulus`)
  const token = await userAccessToken(ctx)
  t.equal(await userinfoStatus(ctx, token), 200, 'tokens signed by a 3072-bit key verify')
})

t.test('the rotate warning: promoted key younger than JWKS_MAX_AGE', async (t) => {
  t.test('KeyStore.rotate({ immediately: true }) reports how long the promoted key was published', async (t) => {
    const ctx = await setup(t)
    const first = await ctx.deps.keys.rotate({ immediately: true })
    t.equal(first.promotedPublishedSeconds, 0, 'the install-time next key, published just now')
    ctx.clock.advance(301)
    const second = await ctx.deps.keys.rotate({ immediately: true })
    t.equal(second.promotedPublishedSeconds, 301, 'the next key from the first rotation, published 301 s')
  })

  t.test('idp keys rotate --json', async (t) => {
    const ctx = await setup(t)
    const lines: string[] = []
    const io = { env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir, ISSUER: ctx.issuer, LOG_LEVEL: 'silent', KEY_REFRESH_INTERVAL: '1s', CLOCK_SKEW: '1s' }, stdout: (line: string) => lines.push(line), stderr: () => {}, readStdin: async () => '' }
    const rotate = async () => {
      lines.length = 0
      const code = await runCli(['keys', 'rotate', '--json'], io)
      return { code, json: JSON.parse(lines.at(-1)!) as Record<string, unknown> }
    }
    const young = await rotate()
    t.equal(young.code, 0, 'exits 0 even with a warning')
    t.match(young.json['warning'], /published \d+s ago, less than the JWKS max-age \(300s\)/, 'warns about a young promoted key')

    // Age the waiting next key past JWKS_MAX_AGE (the CLI runs on the real clock).
    const waiting = (await ctx.deps.keys.list()).find((key) => key.state === 'next')!
    await ctx.deps.store.db.updateTable('signing_keys').set({ created_at: Math.floor(Date.now() / 1000) - 600 }).where('kid', '=', waiting.kid).execute()
    const aged = await rotate()
    t.equal(aged.code, 0)
    t.equal(aged.json['active_kid'], waiting.kid)
    t.notOk('warning' in aged.json, `no warning when the promoted key was published longer than JWKS_MAX_AGE (${JSON.stringify(aged.json)})`)
  })
})
