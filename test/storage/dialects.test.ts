/**
 * The same behaviour on every store: migrations, the code flow with refresh rotation and reuse
 * detection, revocation, key rotation with two stores racing, pruning. SQLite always; PostgreSQL
 * when TEST_DATABASE_URL is set (CI sets it and requires it: see REQUIRE_POSTGRES below).
 */
import t from 'tap'
import { sql } from 'kysely'
import { KeyStore } from '../../src/keys/key-store.js'
import { loadOrCreateKek } from '../../src/keys/kek.js'
import { keyRetentionSeconds } from '../../src/deps.js'
import { pruneExpired } from '../../src/db/repositories/maintenance.js'
import { authorize, CookieJar, pkcePair } from '../helpers/client.js'
import { availableDatabases } from '../helpers/databases.js'
import { createTestApp } from '../helpers/test-app.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const form = (params: Record<string, string>) => new URLSearchParams(params).toString()

if (process.env['REQUIRE_POSTGRES'] === '1') {
  t.ok(
    availableDatabases().some((db) => db.name === 'postgres'),
    'CI provides a PostgreSQL server through TEST_DATABASE_URL',
  )
}

for (const { name, create } of availableDatabases()) {
  t.test(`${name}: code flow, refresh rotation, reuse detection, revocation`, async (t) => {
    const database = await create()
    const ctx = await createTestApp({ env: { DATABASE_URL: database.url } })
    t.teardown(async () => {
      await ctx.close()
      await database.drop()
    })
    const tables = await sql<{ n: number }>`select count(*) as n from signing_keys`.execute(ctx.deps.store.db)
    t.equal(Number(tables.rows[0]!.n), 2, 'fresh store has an active and a next key')

    const { client, secret } = await ctx.addClient()
    const basic = { authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` }
    const user = await ctx.addUser()
    const { verifier, challenge } = pkcePair()
    const { location } = await authorize(
      ctx,
      new CookieJar(),
      {
        response_type: 'code',
        client_id: client.id,
        redirect_uri: 'https://rp.example/callback',
        scope: 'openid email offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's1',
      },
      user,
    )
    t.equal(location?.searchParams.get('state'), 's1')
    const code = location!.searchParams.get('code')!
    const redeem = () =>
      ctx.app.inject({
        method: 'POST',
        url: '/token',
        headers: { ...basic, ...FORM },
        payload: form({ grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/callback', code_verifier: verifier }),
      })
    const results = await Promise.all(Array.from({ length: 10 }, redeem))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'exactly one of 10 parallel redemptions wins')
    const winner = results.find((r) => r.statusCode === 200)!.json()
    const userinfo = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${winner.access_token}` } })
    t.equal(userinfo.statusCode, 401, 'the replays revoked what the first redemption issued')

    // A fresh login for the refresh-token checks.
    const second = pkcePair()
    const again = await authorize(
      ctx,
      new CookieJar(),
      {
        response_type: 'code',
        client_id: client.id,
        redirect_uri: 'https://rp.example/callback',
        scope: 'openid offline_access',
        code_challenge: second.challenge,
        code_challenge_method: 'S256',
      },
      user,
    )
    const tokens = (
      await ctx.app.inject({
        method: 'POST',
        url: '/token',
        headers: { ...basic, ...FORM },
        payload: form({
          grant_type: 'authorization_code',
          code: again.location!.searchParams.get('code')!,
          redirect_uri: 'https://rp.example/callback',
          code_verifier: second.verifier,
        }),
      })
    ).json()
    const refresh = (token: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/token',
        headers: { ...basic, ...FORM },
        payload: form({ grant_type: 'refresh_token', refresh_token: token }),
      })
    const rotated = await refresh(tokens.refresh_token)
    t.equal(rotated.statusCode, 200, 'refresh works')
    t.equal((await refresh(tokens.refresh_token)).json().error, 'invalid_grant', 'reuse refused')
    t.equal((await refresh(rotated.json().refresh_token)).json().error, 'invalid_grant', 'family revoked after reuse')

    ctx.clock.advance(3 * 86400 + 60 * 86400)
    const pruned = await pruneExpired(ctx.deps.store.db, ctx.clock.now(), 86400)
    t.ok(pruned.codes >= 2 && pruned.grants >= 2, 'pruning removes expired codes and dead grants (with their refresh-token families)')
  })

  t.test(`${name}: two key stores rotating at once never leave two active keys`, async (t) => {
    const database = await create()
    const ctx = await createTestApp({ env: { DATABASE_URL: database.url } })
    t.teardown(async () => {
      await ctx.close()
      await database.drop()
    })
    const other = new KeyStore({
      repository: ctx.deps.repos.signingKeys,
      kek: loadOrCreateKek(ctx.deps.config.keysDir, null),
      clock: ctx.clock,
      policy: { retentionSeconds: keyRetentionSeconds(ctx.deps.config), rotationIntervalSeconds: null, removal: 'delete' },
      modulusLength: 2048,
      log: ctx.deps.log,
    })
    await other.initialise()
    for (let round = 0; round < 3; round++) {
      await Promise.all([ctx.deps.keys.rotate({ immediately: true }), other.rotate({ immediately: true })])
      const keys = await ctx.deps.keys.list()
      t.equal(keys.filter((key) => key.state === 'active').length, 1, `round ${round}: one active key`)
    }
    await other.refresh(true)
    await ctx.deps.keys.refresh(true)
    t.equal(other.signingKey().kid, ctx.deps.keys.signingKey().kid, 'both stores sign with the same key')
  })
}
