/**
 * Authorization-code replay (docs/security.md §C, RFC 6749 §4.1.2): a code is single use; presenting it
 * again is invalid_grant and revokes everything its first redemption issued, including tokens
 * obtained since by refreshing.
 */
import t from 'tap'
import { introspect, obtainCode, redeem, refresh, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

t.test('a replayed code → invalid_grant, and the first redemption’s tokens are revoked', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user, { params: { scope: 'openid offline_access' } })
  const first = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(first.statusCode, 200)
  const tokens = first.json() as Tokens
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'the access token works before the replay')
  t.equal((await introspect(ctx, rp, tokens.refresh_token!)).active, true)

  const replay = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'invalid_grant')
  t.notOk(replay.json().access_token, 'no tokens for the replay')

  t.equal((await introspect(ctx, rp, tokens.access_token)).active, false, 'access token inactive at introspection')
  const info = await userinfo(ctx, tokens.access_token)
  t.equal(info.statusCode, 401, 'access token refused at userinfo')
  t.match(info.headers['www-authenticate'], /error="invalid_token"/)
  t.equal((await introspect(ctx, rp, tokens.refresh_token!)).active, false, 'refresh token inactive at introspection')
  const refreshed = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(refreshed.json().error, 'invalid_grant', 'refresh token dead')
})

t.test('a replay also revokes tokens obtained since by refreshing', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user, { params: { scope: 'openid offline_access' } })
  const first = (await redeem(ctx, rp, code, { code_verifier: verifier })).json() as Tokens
  const second = (await refresh(ctx, rp, first.refresh_token!)).json() as Tokens
  t.equal((await userinfo(ctx, second.access_token)).statusCode, 200)

  t.equal((await redeem(ctx, rp, code, { code_verifier: verifier })).json().error, 'invalid_grant')
  t.equal((await userinfo(ctx, second.access_token)).statusCode, 401, 'refreshed access token revoked')
  t.equal((await introspect(ctx, rp, second.access_token)).active, false)
  t.equal((await refresh(ctx, rp, second.refresh_token!)).json().error, 'invalid_grant', 'rotated-in refresh token dead')
})

t.test('a replay after the code’s lifetime is still recognised as a replay', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user)
  const tokens = (await redeem(ctx, rp, code, { code_verifier: verifier })).json() as Tokens
  ctx.clock.advance(120)
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'the access token is still within its own lifetime')
  t.equal((await redeem(ctx, rp, code, { code_verifier: verifier })).json().error, 'invalid_grant')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'the replay revoked it although the code had expired')
})

t.test('a public client’s replayed code revokes its tokens too', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ isPublic: true })
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user, { params: { scope: 'openid offline_access' } })
  const tokens = (await redeem(ctx, rp, code, { code_verifier: verifier })).json() as Tokens
  t.type(tokens.refresh_token, 'string')
  const replay = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(replay.json().error, 'invalid_grant', 'public client replay refused')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'public client’s access token revoked')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant', 'public client’s refresh token dead')
})

t.test('a code redeemed by another client → invalid_grant, no tokens', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const owner = await ctx.addClient({ name: 'Owner' })
  const other = await ctx.addClient({ name: 'Other' })
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, owner, user)
  const stolen = await redeem(ctx, other, code, { code_verifier: verifier })
  t.equal(stolen.statusCode, 400)
  t.equal(stolen.json().error, 'invalid_grant')
  t.notOk(stolen.json().access_token, 'no tokens for the other client')
})

t.test('20 parallel redemptions of one code: exactly one 200', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier } = await obtainCode(ctx, rp, user, { params: { scope: 'openid offline_access' } })
  const responses = await Promise.all(Array.from({ length: 20 }, () => redeem(ctx, rp, code, { code_verifier: verifier })))
  const winners = responses.filter((response) => response.statusCode === 200)
  t.equal(winners.length, 1, 'exactly one redemption succeeds')
  t.ok(
    responses.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 400 && r.json().error === 'invalid_grant'),
    'the others are invalid_grant',
  )
  // The losers are replays: the winner's tokens are revoked as well.
  const won = winners[0]!.json() as Tokens
  t.equal((await userinfo(ctx, won.access_token)).statusCode, 401, 'the race counts as replay: the winner’s access token is revoked')
  t.equal((await refresh(ctx, rp, won.refresh_token!)).json().error, 'invalid_grant', 'and its refresh token')
})
