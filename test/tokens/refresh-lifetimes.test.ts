/**
 * Refresh-token lifetimes (docs/security.md §D): an idle lifetime (REFRESH_TOKEN_IDLE_TTL, renewed by
 * each rotation) and an absolute one (REFRESH_TOKEN_TTL, from the original login) that rotation
 * never extends. Time moves only through the FakeClock.
 */
import t from 'tap'
import { introspect, refresh, signIn, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const IDLE = 3600
const ABSOLUTE = 3 * 3600
const env = { REFRESH_TOKEN_IDLE_TTL: '1h', REFRESH_TOKEN_TTL: '3h' }

t.test('idle lifetime: a refresh token unused for REFRESH_TOKEN_IDLE_TTL dies', async (t) => {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens: early } = await signIn(ctx, rp, user)
  const { tokens: late } = await signIn(ctx, rp, user)
  const issuedAt = ctx.clock.now()

  const described = await introspect(ctx, rp, early.refresh_token!)
  t.equal(described['active'], true)
  t.equal(described['exp'], issuedAt + IDLE, 'introspection reports the idle expiry')

  ctx.clock.advance(IDLE - 1)
  t.equal((await refresh(ctx, rp, early.refresh_token!)).statusCode, 200, 'one second before the idle limit: still usable')

  ctx.clock.advance(1)
  t.equal((await introspect(ctx, rp, late.refresh_token!)).active, false, 'at the idle limit: inactive')
  const expired = await refresh(ctx, rp, late.refresh_token!)
  t.equal(expired.statusCode, 400)
  t.equal(expired.json().error, 'invalid_grant', 'at the idle limit: invalid_grant')
})

t.test('each rotation renews the idle lifetime', async (t) => {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  let { tokens } = await signIn(ctx, rp, user)
  const start = ctx.clock.now()
  for (let step = 1; step <= 2; step++) {
    ctx.clock.advance(IDLE - 60)
    const response = await refresh(ctx, rp, tokens.refresh_token!)
    t.equal(response.statusCode, 200, `refresh ${step} after ${IDLE - 60}s idle`)
    tokens = response.json() as Tokens
    t.equal(
      (await introspect(ctx, rp, tokens.refresh_token!))['exp'],
      ctx.clock.now() + IDLE,
      `refresh ${step}: idle expiry counted from the rotation`,
    )
  }
  t.ok(ctx.clock.now() - start > IDLE, 'the family outlived one idle period')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 200, 'and is still usable')
})

t.test('absolute lifetime: rotation never extends the family beyond REFRESH_TOKEN_TTL', async (t) => {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const loginAt = ctx.clock.now()
  let { tokens } = await signIn(ctx, rp, user)

  // Keep the family busy: a refresh every 50 minutes, well inside the idle limit.
  while (ctx.clock.now() + 3000 < loginAt + ABSOLUTE) {
    ctx.clock.advance(3000)
    const response = await refresh(ctx, rp, tokens.refresh_token!)
    t.equal(response.statusCode, 200, `refresh at +${ctx.clock.now() - loginAt}s`)
    tokens = response.json() as Tokens
  }
  const described = await introspect(ctx, rp, tokens.refresh_token!)
  t.equal(described['exp'], loginAt + ABSOLUTE, 'the newest token expires with the family, not a full idle period later')

  ctx.clock.set(loginAt + ABSOLUTE)
  t.equal((await introspect(ctx, rp, tokens.refresh_token!)).active, false, 'inactive at the absolute limit')
  const expired = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(expired.statusCode, 400)
  t.equal(expired.json().error, 'invalid_grant', 'invalid_grant at the absolute limit although used recently')
})

t.test('access tokens expire at their own exp; a refresh issues a new one', async (t) => {
  const ctx = await createTestApp({ env: { ...env, ACCESS_TOKEN_TTL: '5m' } })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  t.equal(tokens.expires_in, 300)
  ctx.clock.advance(300)
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'expired access token refused at userinfo')
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, false, 'expired access token inactive')
  const next = (await refresh(ctx, rp, tokens.refresh_token!)).json() as Tokens
  t.equal((await userinfo(ctx, next.access_token)).statusCode, 200, 'the refreshed access token works')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'the old one stays expired')
})

t.test('reuse detection still works late in the idle window', async (t) => {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  const next = (await refresh(ctx, rp, tokens.refresh_token!)).json() as Tokens
  ctx.clock.advance(IDLE - 10)
  // The rotated token is long unused but still a rotated token: reuse, family revoked.
  const reuse = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(reuse.json().error, 'invalid_grant')
  t.equal(
    (await refresh(ctx, rp, next.refresh_token!)).json().error,
    'invalid_grant',
    'reuse detection still works late in the idle window',
  )
})
