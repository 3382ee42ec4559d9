/**
 * Refresh tokens (docs/security.md §D): issued for offline_access, opaque, rotated on every use, reuse of
 * a rotated token revokes the whole family and its access tokens, bound to the client, scope may
 * only narrow, and of concurrent uses exactly one wins.
 */
import t from 'tap'
import { decodeJwt } from 'jose'
import { claims, introspect, refresh, signIn, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

t.test('offline_access yields an opaque refresh token; without it there is none', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()

  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  t.type(tokens.refresh_token, 'string', 'refresh_token in the code response')
  t.match(
    tokens.refresh_token,
    /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}\.0$/,
    'a 256-bit MAC, its grant and generation 0 (tokens/refresh.ts)',
  )
  t.throws(() => decodeJwt(tokens.refresh_token!), 'not a JWT')
  t.equal(tokens.scope, 'openid offline_access')

  const { tokens: online } = await signIn(ctx, rp, user, { scope: 'openid' })
  t.equal(online.refresh_token, undefined, 'no refresh token without offline_access')
})

t.test('every refresh returns a new refresh, access and ID token; the old refresh token dies', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)

  const response = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  const next = response.json() as Tokens
  t.equal(next.token_type, 'Bearer')
  t.type(next.expires_in, 'number')
  t.type(next.refresh_token, 'string')
  t.not(next.refresh_token, tokens.refresh_token, 'a new refresh token')
  t.not(next.access_token, tokens.access_token, 'a new access token')
  t.type(next.id_token, 'string', 'a new ID token')
  t.not(next.id_token, tokens.id_token)
  t.equal((await userinfo(ctx, next.access_token)).statusCode, 200, 'the new access token works')
  t.equal((await introspect(ctx, rp, tokens.refresh_token!)).active, false, 'the rotated token is no longer active')

  const again = await refresh(ctx, rp, next.refresh_token!)
  t.equal(again.statusCode, 200, 'the new refresh token works in turn')
})

t.test('reuse of a rotated refresh token revokes the whole family and its access tokens', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens: first } = await signIn(ctx, rp, user)
  const second = (await refresh(ctx, rp, first.refresh_token!)).json() as Tokens
  const third = (await refresh(ctx, rp, second.refresh_token!)).json() as Tokens
  t.equal((await introspect(ctx, rp, third.access_token)).active, true)

  const reuse = await refresh(ctx, rp, first.refresh_token!)
  t.equal(reuse.statusCode, 400)
  t.equal(reuse.json().error, 'invalid_grant')

  const latest = await refresh(ctx, rp, third.refresh_token!)
  t.equal(latest.json().error, 'invalid_grant', 'the newest refresh token of the family is dead too')
  t.equal((await introspect(ctx, rp, third.refresh_token!)).active, false)
  for (const [name, token] of [
    ['code', first.access_token],
    ['first refresh', second.access_token],
    ['second refresh', third.access_token],
  ] as const) {
    t.equal((await introspect(ctx, rp, token)).active, false, `access token from the ${name} is inactive`)
    const info = await userinfo(ctx, token)
    t.equal(info.statusCode, 401, `userinfo refuses the access token from the ${name}`)
    t.match(info.headers['www-authenticate'], /^Bearer .*error="invalid_token"/)
  }
})

t.test('a refreshed ID token keeps iss, sub, aud, azp and auth_time; new iat; no nonce', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { params: { nonce: 'n-0S6_WzA2Mj' } })
  const original = claims(tokens.id_token!)
  t.equal(original['nonce'], 'n-0S6_WzA2Mj', 'the first ID token carries the nonce')

  ctx.clock.advance(300)
  const next = (await refresh(ctx, rp, tokens.refresh_token!)).json() as Tokens
  const refreshed = claims(next.id_token!)
  for (const claim of ['iss', 'sub', 'aud', 'azp', 'auth_time'] as const) t.same(refreshed[claim], original[claim], `${claim} unchanged`)
  t.equal(refreshed['iss'], ctx.issuer)
  t.equal(refreshed['sub'], user.id)
  t.equal(refreshed['aud'], rp.client.id)
  t.equal(refreshed['iat'], ctx.clock.now(), 'iat is the time of the refresh')
  t.ok((refreshed['iat'] as number) > (original['iat'] as number), 'iat is new')
  t.equal(refreshed['auth_time'], original['auth_time'], 'auth_time is the original login time')
  t.notOk('nonce' in refreshed, 'no nonce in a refreshed ID token')
})

t.test('scope at refresh: wider → invalid_scope, narrower allowed', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid email offline_access' })

  const wider = await refresh(ctx, rp, tokens.refresh_token!, { scope: 'openid email profile offline_access' })
  t.equal(wider.statusCode, 400)
  t.equal(wider.json().error, 'invalid_scope')

  const narrower = await refresh(ctx, rp, tokens.refresh_token!, { scope: 'openid' })
  t.equal(narrower.statusCode, 200, 'a narrower scope is allowed')
  const body = narrower.json() as Tokens
  t.equal(body.scope, 'openid')
  t.equal((await introspect(ctx, rp, body.access_token))['scope'], 'openid', 'the access token carries the narrower scope')
  t.same((await userinfo(ctx, body.access_token)).json(), { sub: user.id }, 'no email claims for the narrower token')
  t.notOk('email' in claims(body.id_token!), 'no email claim in the narrower ID token')
})

t.test('another client presenting a refresh token gets invalid_grant', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const owner = await ctx.addClient({ name: 'Owner' })
  const thief = await ctx.addClient({ name: 'Thief' })
  const publicThief = await ctx.addClient({ name: 'Public thief', isPublic: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, owner, user)

  for (const other of [thief, publicThief]) {
    const stolen = await refresh(ctx, other, tokens.refresh_token!)
    t.equal(stolen.statusCode, 400, `${other.client.name}: 400`)
    t.equal(stolen.json().error, 'invalid_grant', `${other.client.name}: invalid_grant`)
  }
  const own = await refresh(ctx, owner, tokens.refresh_token!)
  t.equal(own.statusCode, 200, 'the owner can still use its refresh token')
})

t.test('public clients get rotating refresh tokens too', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ isPublic: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  t.type(tokens.refresh_token, 'string', 'a public client gets a refresh token')

  const rotated = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(rotated.statusCode, 200, 'refresh with client_id only')
  const next = rotated.json() as Tokens
  t.not(next.refresh_token, tokens.refresh_token)

  const reuse = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(reuse.json().error, 'invalid_grant', 'reuse detected')
  t.equal((await refresh(ctx, rp, next.refresh_token!)).json().error, 'invalid_grant', 'family revoked')
  t.equal((await userinfo(ctx, next.access_token)).statusCode, 401, 'family access token revoked')
})

t.test('concurrent refreshes with one token: exactly one 200', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)

  const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(ctx, rp, tokens.refresh_token!)))
  const ok = responses.filter((response) => response.statusCode === 200)
  t.equal(ok.length, 1, 'exactly one refresh succeeds')
  for (const response of responses.filter((r) => r.statusCode !== 200)) {
    t.equal(response.statusCode, 400)
    t.equal(response.json().error, 'invalid_grant')
  }
})

t.test('a refresh that loses to a revocation is refused, not recorded as reuse; one that loses to a rotation is reuse', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const grants = ctx.deps.repos.grants
  const advance = grants.advanceRefreshFamily
  t.teardown(() => {
    grants.advanceRefreshFamily = advance
  })
  const reuses = () => ctx.deps.repos.auditEvents.list({ type: 'refresh_reuse', limit: 10 })

  // The other request lands between this one's checks and its rotation, as a concurrent one would.
  const { tokens: first } = await signIn(ctx, rp, user)
  grants.advanceRefreshFamily = async (id, from, next) => {
    await grants.revoke(id, ctx.clock.now())
    return advance(id, from, next)
  }
  const revoked = await refresh(ctx, rp, first.refresh_token!)
  t.equal(revoked.statusCode, 400, revoked.body)
  t.equal(revoked.json().error, 'invalid_grant')
  t.same(await reuses(), [], 'a logout or an administrator’s revocation meanwhile is no theft')

  const { tokens: second } = await signIn(ctx, rp, user)
  grants.advanceRefreshFamily = async (id, from, next) => {
    await advance(id, from, next)
    return advance(id, from, next)
  }
  const lost = await refresh(ctx, rp, second.refresh_token!)
  t.equal(lost.statusCode, 400, lost.body)
  t.equal(lost.json().error, 'invalid_grant')
  t.match(await reuses(), [{ type: 'refresh_reuse' }], 'another use of the same token rotated it first: reuse')
  grants.advanceRefreshFamily = advance
  const { grantId } = (await ctx.deps.repos.auditEvents.list({ type: 'refresh_reuse', limit: 1 }))[0]!.detail as { grantId: string }
  t.not((await grants.find(grantId))?.revokedAt ?? null, null, 'and the family is revoked')
})
