import t from 'tap'
import { authorize, CookieJar, pkcePair } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const form = (params: Record<string, string>) => new URLSearchParams(params).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('offline_access → refresh rotation → reuse revokes family; introspect; revoke; client_credentials', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient()
  const basic = { authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` }
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { location } = await authorize(
    ctx,
    jar,
    {
      response_type: 'code',
      client_id: client.id,
      redirect_uri: 'https://rp.example/callback',
      scope: 'openid offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
    user,
  )
  const first = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...basic, ...FORM },
    payload: form({
      grant_type: 'authorization_code',
      code: location!.searchParams.get('code')!,
      redirect_uri: 'https://rp.example/callback',
      code_verifier: verifier,
    }),
  })
  t.equal(first.statusCode, 200, 'code redemption answers 200')
  const rt1 = first.json().refresh_token
  t.ok(rt1, 'refresh token issued')
  const second = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...basic, ...FORM },
    payload: form({ grant_type: 'refresh_token', refresh_token: rt1 }),
  })
  t.equal(second.statusCode, 200, 'refresh answers 200')
  const rt2 = second.json().refresh_token
  t.not(rt2, rt1)
  const introspect = async (token: string) =>
    (await ctx.app.inject({ method: 'POST', url: '/introspect', headers: { ...basic, ...FORM }, payload: form({ token }) })).json()
  t.equal((await introspect(second.json().access_token)).active, true)
  t.equal((await introspect(rt2)).active, true)
  const reuse = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...basic, ...FORM },
    payload: form({ grant_type: 'refresh_token', refresh_token: rt1 }),
  })
  t.equal(reuse.json().error, 'invalid_grant')
  t.equal((await introspect(rt2)).active, false, 'family revoked')
  t.equal((await introspect(second.json().access_token)).active, false, 'family access tokens revoked')

  const cc = await ctx.addClient({ grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  const ccBasic = { authorization: `Basic ${Buffer.from(`${cc.client.id}:${cc.secret}`).toString('base64')}` }
  const ccToken = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...ccBasic, ...FORM },
    payload: form({ grant_type: 'client_credentials' }),
  })
  t.equal(ccToken.statusCode, 200, 'client_credentials answers 200')
  t.equal(ccToken.json().scope, 'api:read')
  t.notOk(ccToken.json().id_token)
  const revoke = await ctx.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { ...ccBasic, ...FORM },
    payload: form({ token: ccToken.json().access_token }),
  })
  t.equal(revoke.statusCode, 200)
  t.equal((await introspect(ccToken.json().access_token)).active, false)
})

t.test('logout ends the session; prompt=none then login_required', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient({ postLogoutRedirectUris: ['https://rp.example/bye'] })
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const params = {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: 'https://rp.example/callback',
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
  const { location } = await authorize(ctx, jar, params, user)
  const tokens = (
    await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`, ...FORM },
      payload: form({
        grant_type: 'authorization_code',
        code: location!.searchParams.get('code')!,
        redirect_uri: 'https://rp.example/callback',
        code_verifier: verifier,
      }),
    })
  ).json()
  const logout = await ctx.app.inject({
    method: 'GET',
    url: `/logout?${form({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://rp.example/bye', state: 'xyz' })}`,
    headers: { cookie: jar.header() },
  })
  t.equal(logout.statusCode, 303)
  t.equal(logout.headers.location, 'https://rp.example/bye?state=xyz')
  jar.store(logout)
  const none = await authorize(ctx, jar, { ...params, prompt: 'none' })
  t.equal(none.location?.searchParams.get('error'), 'login_required')
  const info = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(info.statusCode, 401, 'non-offline grant of the session revoked')
})
