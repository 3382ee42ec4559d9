/**
 * client_credentials (RFC 6749 §4.4): only confidential clients registered for it; the access token
 * names the client as its subject; no refresh or ID token; scope within the registered scopes.
 */
import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import { claims, introspect, post, revoke, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const service = (ctx: TestApp) =>
  ctx.addClient({ name: 'Billing service', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read', 'api:write'] })

t.test('a registered confidential client gets an access token with sub = client_id, no refresh or ID token', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const svc = await service(ctx)
  const response = await post(ctx, '/token', svc, { grant_type: 'client_credentials' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  const body = response.json() as Tokens
  t.equal(body.token_type, 'Bearer')
  t.ok(body.expires_in > 0 && body.expires_in <= 3600, 'expires_in within 1 h')
  t.same(body.scope.split(' ').sort(), ['api:read', 'api:write'], 'no scope asked: the registered service scopes')
  t.notOk('refresh_token' in body, 'no refresh token')
  t.notOk('id_token' in body, 'no ID token')

  t.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt')
  const jwt = claims(body.access_token)
  t.equal(jwt['sub'], svc.client.id, 'sub is the client_id')
  t.equal(jwt['client_id'], svc.client.id)
  t.equal(jwt['iss'], ctx.issuer)
  t.type(jwt['jti'], 'string')

  const described = await introspect(ctx, svc, body.access_token)
  t.match(described, { active: true, sub: svc.client.id, client_id: svc.client.id, iss: ctx.issuer })
})

t.test('scope: a subset is granted, anything unregistered → invalid_scope', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const svc = await service(ctx)
  const subset = await post(ctx, '/token', svc, { grant_type: 'client_credentials', scope: 'api:read' })
  t.equal(subset.statusCode, 200)
  t.equal(subset.json().scope, 'api:read')
  t.equal(claims(subset.json().access_token)['scope'], 'api:read')

  for (const scope of ['api:admin', 'api:read api:admin']) {
    const refused = await post(ctx, '/token', svc, { grant_type: 'client_credentials', scope })
    t.equal(refused.statusCode, 400, `${scope}: 400`)
    t.equal(refused.json().error, 'invalid_scope', `${scope}: invalid_scope`)
    t.notOk(refused.json().access_token)
  }
})

t.test('clients not registered for it → unauthorized_client; bad credentials → invalid_client', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const webApp = await ctx.addClient({ name: 'Web app' })
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  for (const rp of [webApp, spa]) {
    const response = await post(ctx, '/token', rp, { grant_type: 'client_credentials' })
    t.equal(response.statusCode, 400, `${rp.client.name}: 400`)
    t.equal(response.json().error, 'unauthorized_client', `${rp.client.name}: unauthorized_client`)
  }
  const svc = await service(ctx)
  const wrong = await post(ctx, '/token', { client: svc.client, secret: 'wrong' }, { grant_type: 'client_credentials' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error, 'invalid_client')
  t.ok(wrong.headers['www-authenticate'])
  const anonymous = await post(ctx, '/token', null, { grant_type: 'client_credentials', client_id: svc.client.id })
  t.equal(anonymous.statusCode, 401, 'client_id alone is not enough for a confidential client')
  t.equal(anonymous.json().error, 'invalid_client')
})

t.test('a client_credentials token is not a user token, expires, and can be revoked', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const svc = await service(ctx)
  const first = (await post(ctx, '/token', svc, { grant_type: 'client_credentials' })).json() as Tokens
  const info = await userinfo(ctx, first.access_token)
  t.equal(info.statusCode, 403, 'userinfo refuses a token without openid')
  t.equal(info.json().error, 'insufficient_scope')

  t.equal((await revoke(ctx, svc, first.access_token)).statusCode, 200)
  t.same(await introspect(ctx, svc, first.access_token), { active: false }, 'revoked')

  const second = (await post(ctx, '/token', svc, { grant_type: 'client_credentials' })).json() as Tokens
  ctx.clock.advance(second.expires_in)
  t.same(await introspect(ctx, svc, second.access_token), { active: false }, 'expired')
  const refreshAttempt = await post(ctx, '/token', svc, { grant_type: 'refresh_token', refresh_token: 'anything' })
  t.equal(refreshAttempt.json().error, 'unauthorized_client', 'the service client may not use refresh_token either')
})
