import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { authorize, CookieJar, pkcePair } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

t.test('code flow with PKCE: login, code, tokens, userinfo', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient()
  const user = await ctx.addUser({ name: 'Ada' })
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { location, response } = await authorize(
    ctx,
    jar,
    {
      response_type: 'code',
      client_id: client.id,
      redirect_uri: 'https://rp.example/callback',
      scope: 'openid email profile',
      state: 'st ate/+',
      nonce: 'n-0S6_WzA2Mj',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
    user,
  )
  t.equal(response.statusCode, 303, 'login answers 303')
  t.ok(location)
  t.equal(location!.searchParams.get('state'), 'st ate/+')
  t.equal(location!.searchParams.get('iss'), ctx.issuer)
  const code = location!.searchParams.get('code')!
  const token = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://rp.example/callback',
      code_verifier: verifier,
    }).toString(),
  })
  t.equal(token.statusCode, 200, 'token endpoint answers 200')
  t.equal(token.headers['cache-control'], 'no-store')
  const body = token.json()
  t.equal(body.token_type, 'Bearer')
  const idToken = decodeJwt(body.id_token)
  t.equal(idToken.sub, user.id)
  t.equal(idToken.nonce, 'n-0S6_WzA2Mj')
  t.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt')
  const info = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${body.access_token}` } })
  t.equal(info.statusCode, 200, 'userinfo answers 200')
  t.same(info.json(), { sub: user.id, name: 'Ada', email: user.email, email_verified: true })
})
