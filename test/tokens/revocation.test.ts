/**
 * /revoke (RFC 7009, docs/security.md §G): access and refresh tokens, token_type_hint optional, client
 * authentication (public clients by client_id), 200 for unknown tokens, and no client can revoke
 * another client's token. Revoking a refresh token takes its family and their access tokens along.
 */
import t from 'tap'
import { introspect, post, refresh, revoke, signIn, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

t.test('discovery advertises revocation, introspection, end_session, grant types and auth methods', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
  t.equal(response.statusCode, 200)
  const metadata = response.json() as Record<string, unknown>
  t.equal(metadata['revocation_endpoint'], `${ctx.issuer}/revoke`)
  t.equal(metadata['introspection_endpoint'], `${ctx.issuer}/introspect`)
  t.equal(metadata['end_session_endpoint'], `${ctx.issuer}/logout`)
  t.same([...(metadata['grant_types_supported'] as string[])].sort(), [
    'authorization_code',
    'client_credentials',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code',
    'urn:ietf:params:oauth:grant-type:token-exchange',
  ])
  t.same([...(metadata['token_endpoint_auth_methods_supported'] as string[])].sort(), [
    'client_secret_basic',
    'client_secret_post',
    'none',
    'private_key_jwt',
  ])
  t.ok((metadata['revocation_endpoint_auth_methods_supported'] as string[]).includes('none'), 'public clients may revoke')
  t.notOk(
    (metadata['introspection_endpoint_auth_methods_supported'] as string[]).includes('none'),
    'introspection needs a real client authentication',
  )
  t.ok((metadata['scopes_supported'] as string[]).includes('offline_access'))
})

t.test('revoking a refresh token revokes its family and the family’s access tokens', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  for (const hint of ['refresh_token', undefined, 'access_token'] as const) {
    const { tokens: first } = await signIn(ctx, rp, user)
    const second = (await refresh(ctx, rp, first.refresh_token!)).json() as Tokens
    const label = hint === undefined ? 'no hint' : `hint ${hint}`
    const response = await revoke(ctx, rp, second.refresh_token!, hint === undefined ? {} : { token_type_hint: hint })
    t.equal(response.statusCode, 200, `${label}: 200`)
    t.equal(response.headers['cache-control'], 'no-store')
    t.equal((await refresh(ctx, rp, second.refresh_token!)).json().error, 'invalid_grant', `${label}: refresh token dead`)
    t.equal((await introspect(ctx, rp, second.refresh_token!)).active, false, `${label}: refresh token inactive`)
    for (const token of [first.access_token, second.access_token]) {
      t.equal((await introspect(ctx, rp, token)).active, false, `${label}: family access token inactive`)
      t.equal((await userinfo(ctx, token)).statusCode, 401, `${label}: family access token refused at userinfo`)
    }
  }
})

t.test('revoking an access token denylists its jti', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  for (const hint of ['access_token', undefined, 'refresh_token'] as const) {
    const { tokens } = await signIn(ctx, rp, user)
    const label = hint === undefined ? 'no hint' : `hint ${hint}`
    t.equal(
      (await revoke(ctx, rp, tokens.access_token, hint === undefined ? {} : { token_type_hint: hint })).statusCode,
      200,
      `${label}: 200`,
    )
    t.equal((await introspect(ctx, rp, tokens.access_token)).active, false, `${label}: inactive at introspection`)
    const info = await userinfo(ctx, tokens.access_token)
    t.equal(info.statusCode, 401, `${label}: refused at userinfo`)
    t.match(info.headers['www-authenticate'], /error="invalid_token"/)
  }
})

t.test('unknown, garbage and already-revoked tokens → 200; a missing token → invalid_request', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  for (const token of ['no-such-token', 'x'.repeat(300), 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
    const response = await revoke(ctx, rp, token)
    t.equal(response.statusCode, 200, `200 for ${token.slice(0, 20)}`)
    t.equal(response.body, '', 'empty body')
  }
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  t.equal((await revoke(ctx, rp, tokens.refresh_token!)).statusCode, 200)
  t.equal((await revoke(ctx, rp, tokens.refresh_token!)).statusCode, 200, 'revoking twice is fine')
  const missing = await post(ctx, '/revoke', rp, {})
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().error, 'invalid_request')
})

t.test('client authentication: confidential clients must authenticate; public clients by client_id', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const spa = await ctx.addClient({ isPublic: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)

  const anonymous = await revoke(ctx, null, tokens.access_token)
  t.equal(anonymous.statusCode, 401, 'no client authentication → 401')
  t.equal(anonymous.json().error, 'invalid_client')
  t.ok(anonymous.headers['www-authenticate'], 'WWW-Authenticate on invalid_client')

  const idOnly = await post(ctx, '/revoke', null, { token: tokens.access_token, client_id: rp.client.id })
  t.equal(idOnly.statusCode, 401, 'a confidential client_id without its secret → 401')
  t.equal(idOnly.json().error, 'invalid_client')

  const wrong = await revoke(ctx, { client: rp.client, secret: 'wrong-secret' }, tokens.access_token)
  t.equal(wrong.statusCode, 401, 'wrong secret → 401')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'nothing was revoked by the failed attempts')

  const viaPost = await post(ctx, '/revoke', null, { token: tokens.access_token, client_id: rp.client.id, client_secret: rp.secret! })
  t.equal(viaPost.statusCode, 200, 'client_secret_post works')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401)

  const { tokens: spaTokens } = await signIn(ctx, spa, user)
  const spaRevoke = await revoke(ctx, spa, spaTokens.refresh_token!)
  t.equal(spaRevoke.statusCode, 200, 'a public client revokes with its client_id')
  t.equal((await refresh(ctx, spa, spaTokens.refresh_token!)).json().error, 'invalid_grant', 'the public client’s refresh token is dead')
  t.equal((await userinfo(ctx, spaTokens.access_token)).statusCode, 401, 'and its access token')
})

t.test('a client cannot revoke another client’s tokens: 200, but they stay active', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const owner = await ctx.addClient({ name: 'Owner' })
  const other = await ctx.addClient({ name: 'Other' })
  const publicOther = await ctx.addClient({ name: 'Public other', isPublic: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, owner, user)

  for (const attacker of [other, publicOther]) {
    for (const [kind, token] of [
      ['access_token', tokens.access_token],
      ['refresh_token', tokens.refresh_token!],
    ] as const) {
      const response = await revoke(ctx, attacker, token, { token_type_hint: kind })
      t.equal(response.statusCode, 200, `${attacker.client.name} revoking the ${kind}: 200 (reveals nothing)`)
    }
  }
  t.equal((await introspect(ctx, owner, tokens.access_token)).active, true, 'access token still active')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'access token still accepted at userinfo')
  t.equal((await introspect(ctx, owner, tokens.refresh_token!)).active, true, 'refresh token still active')
  t.equal((await refresh(ctx, owner, tokens.refresh_token!)).statusCode, 200, 'refresh token still usable by its owner')
})
