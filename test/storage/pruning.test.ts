/**
 * Background pruning: pruneExpired(db, now, grace) deletes expired codes, interactions, sessions,
 * refresh tokens stored by earlier versions, access-token rows and dead grants (with their
 * refresh-token families); live rows stay and keep working; the grace
 * period keeps recently-dead rows so code replay and refresh reuse are still recognised.
 */
import fs from 'node:fs'
import t from 'tap'
import {
  authorize,
  claims,
  CookieJar,
  obtainCode,
  pkcePair,
  redeem,
  refresh,
  revoke,
  RP,
  signIn,
  silentAuthorize,
  userinfo,
  type Tokens,
} from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { issueLegacyRefreshToken } from '../helpers/legacy-refresh-token.js'
import { pruneExpired } from '../../src/db/repositories/maintenance.js'
import { pruneNow } from '../../src/maintenance.js'

const TABLES = ['authorization_codes', 'interactions', 'sessions', 'revoked_access_tokens', 'refresh_tokens', 'grants'] as const
type Table = (typeof TABLES)[number]

async function rowCounts(ctx: TestApp): Promise<Record<Table, number>> {
  const counts = {} as Record<Table, number>
  for (const table of TABLES) {
    const row = await ctx.deps.store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    counts[table] = Number(row.n)
  }
  return counts
}

const grantIdOf = (tokens: Tokens): string => (claims(tokens.access_token)['jti'] as string).split('.')[1]!

const prune = (ctx: TestApp, grace: number) => pruneExpired(ctx.deps.store.db, ctx.clock.now(), grace)

t.test('once everything has expired, pruning removes every row; a second run finds nothing', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user) // redeemed code, session, offline grant, access + refresh token
  await refresh(ctx, rp, tokens.refresh_token!) // a rotated refresh token and a second access token
  const earlier = await signIn(ctx, rp, user)
  await issueLegacyRefreshToken(ctx, grantIdOf(earlier.tokens)) // a refresh token stored by an earlier version
  await obtainCode(ctx, rp, user) // a second session with an unredeemed code
  const { challenge } = pkcePair()
  await authorize(ctx, new CookieJar(), {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: RP,
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }) // a parked interaction
  await signIn(ctx, rp, user, { scope: 'openid' }) // a non-offline grant
  await revoke(ctx, rp, tokens.access_token) // an access token revoked on its own: listed until it expires
  const before = await rowCounts(ctx)
  for (const table of TABLES) t.ok(before[table] > 0, `${table} has rows before pruning`)

  ctx.clock.advance(30 * 86400 + 1) // past REFRESH_TOKEN_TTL (30d) and every shorter lifetime
  const counts = await prune(ctx, 0)
  t.match(
    counts,
    { codes: 4, interactions: 1, sessions: 4, accessTokens: 0, revokedAccessTokens: 1, refreshTokens: 1 },
    'counts of pruned rows',
  )
  t.ok(counts.grants >= 3, 'dead grants pruned')
  t.same(
    await rowCounts(ctx),
    { authorization_codes: 0, interactions: 0, sessions: 0, revoked_access_tokens: 0, refresh_tokens: 0, grants: 0 },
    'every table is empty',
  )
  t.same(
    await prune(ctx, 0),
    {
      codes: 0,
      interactions: 0,
      sessions: 0,
      accessTokens: 0,
      revokedAccessTokens: 0,
      refreshTokens: 0,
      grants: 0,
      accountTokens: 0,
      pendingLogins: 0,
      webauthnChallenges: 0,
      clientAssertions: 0,
      dpopProofs: 0,
      pushedRequests: 0,
      registrationTokens: 0,
      deviceCodes: 0,
      upstreamLogins: 0,
      outbox: 0,
      idempotencyKeys: 0,
    },
    'a second run prunes nothing',
  )
})

t.test('live rows survive pruning and keep working', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, rp, user)
  ctx.clock.advance(11 * 60) // the code and the access token have expired; session and refresh token live
  const stored = await signIn(ctx, rp, user)
  const legacy = await issueLegacyRefreshToken(ctx, grantIdOf(stored.tokens)) // stored by an earlier version, live

  const counts = await prune(ctx, 0)
  t.match(
    counts,
    { codes: 1, accessTokens: 0, sessions: 0, refreshTokens: 0, grants: 0 },
    'no access-token rows to prune: none are written',
  )
  const left = await rowCounts(ctx)
  t.equal(left.sessions, 2, 'the live sessions stay')
  t.equal(left.refresh_tokens, 1, 'the live stored refresh token stays')
  t.equal(left.grants, 2, 'the live grants stay (with their refresh-token families)')
  t.equal((await refresh(ctx, rp, legacy)).statusCode, 200, 'the stored refresh token still works after pruning')

  const next = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(next.statusCode, 200, 'the refresh token still works after pruning')
  t.equal((await userinfo(ctx, (next.json() as Tokens).access_token)).statusCode, 200)
  t.ok((await silentAuthorize(ctx, rp, jar)).searchParams.get('code'), 'the session still works after pruning')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'the pruned access token stays refused')
})

t.test('ended sessions are pruned after the grace period; live ones are not', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: ['https://rp.example/bye'] })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid' })
  const other = await signIn(ctx, rp, user, { scope: 'openid' })
  await ctx.app.inject({
    method: 'GET',
    url: `/logout?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`,
    headers: { cookie: jar.header() },
  })

  ctx.clock.advance(60)
  t.equal((await prune(ctx, 3600)).sessions, 0, 'within the grace period the ended session stays')
  ctx.clock.advance(3600)
  t.equal((await prune(ctx, 3600)).sessions, 1, 'after it, the ended session goes')
  t.equal((await rowCounts(ctx)).sessions, 1, 'the other browser’s session stays')
  t.ok((await silentAuthorize(ctx, rp, other.jar)).searchParams.get('code'), 'and still works')
})

t.test('grace keeps a redeemed code long enough to recognise its replay', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user, { params: { scope: 'openid offline_access' } })
  const tokens = (await redeem(ctx, rp, code, { code_verifier: verifier })).json() as Tokens
  ctx.clock.advance(300) // the code expired four minutes ago

  t.equal((await prune(ctx, 86400)).codes, 0, 'the redeemed code is kept during the grace period')
  t.equal((await redeem(ctx, rp, code, { code_verifier: verifier })).json().error, 'invalid_grant')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'replay still revokes the first redemption’s tokens')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant')
})

t.test('grace keeps a rotated stored refresh token long enough to recognise its reuse', async (t) => {
  const ctx = await createTestApp({ env: { REFRESH_TOKEN_IDLE_TTL: '1h' } })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  const legacy = await issueLegacyRefreshToken(ctx, grantIdOf(tokens)) // stored by an earlier version
  ctx.clock.advance(30 * 60)
  const next = (await refresh(ctx, rp, legacy)).json() as Tokens
  ctx.clock.advance(40 * 60) // the rotated token's idle expiry has passed; the new one lives 20 more minutes

  t.equal((await prune(ctx, 86400)).refreshTokens, 0, 'the rotated token is kept during the grace period')
  t.equal((await refresh(ctx, rp, legacy)).json().error, 'invalid_grant')
  t.equal((await refresh(ctx, rp, next.refresh_token!)).json().error, 'invalid_grant', 'its reuse still revokes the family')

  ctx.clock.advance(86400 + 3600)
  t.equal((await prune(ctx, 86400)).refreshTokens, 1, 'after the grace period its row goes')
})

t.test(
  'on SQLite a pruning pass also empties the write-ahead log, which constant readers would let grow',
  { skip: process.env['TEST_DATABASE'] === 'postgres' && 'SQLite only' },
  async (t) => {
    const ctx = await createTestApp()
    t.teardown(() => ctx.close())
    const location = ctx.deps.config.database
    if (location.dialect !== 'sqlite') throw new Error('expected the SQLite test database')
    const rp = await ctx.addClient()
    const user = await ctx.addUser()
    for (let i = 0; i < 3; i++) await signIn(ctx, rp, user)
    const wal = `${location.file}-wal`
    t.ok(fs.statSync(wal).size > 0, `the log holds recent writes (${fs.statSync(wal).size} bytes)`)
    const counts = await pruneNow(ctx.deps)
    t.equal(fs.statSync(wal).size, 0, 'after pruneNow the log file is empty (checkpointed and truncated)')
    t.ok(counts.codes >= 0, 'the pass itself completed')
    t.equal((await userinfo(ctx, (await signIn(ctx, rp, user)).tokens.access_token)).statusCode, 200, 'the database keeps working')
  },
)
