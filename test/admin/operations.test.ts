/**
 * The admin API's operations on the running installation, checked where they show: key rotation
 * and revocation in /.well-known/jwks.json (and in which tokens still verify), an ended session in
 * the browser being sent back to the login page, APIs and connections.
 */
import t, { type Test } from 'tap'
import { decodeProtectedHeader } from 'jose'
import { addConnection } from '../../src/connections/registry.js'
import { webhookSecret } from '../../src/webhooks/registry.js'
import { basic, FORM } from '../helpers/client.js'
import { DpopKey } from '../helpers/dpop.js'
import { authorizationRequest, authorizeAt, FetchCookieJar, send, signIn } from '../helpers/http-client.js'
import { adminToken, allPages, startAdmin, type Reply } from './support.js'

const { ctx, ops, api } = await startAdmin()
t.teardown(() => ctx.close())

function isProblem(t: Test, reply: Reply, status: number, kind: string) {
  t.equal(reply.status, status, `status ${status}`)
  t.match(reply.headers.get('content-type'), /^application\/problem\+json/)
  t.match(reply.body, { type: `urn:tessera:problem:${kind}`, status })
}

const publishedKids = async (): Promise<string[]> => {
  const jwks = JSON.parse((await send(new URL('/.well-known/jwks.json', ctx.issuer))).text) as { keys: { kid: string }[] }
  return jwks.keys.map((key) => key.kid)
}

t.test('signing keys: list, rotate, revoke — as the JWKS shows them', async (t) => {
  const listed = await api.get('/keys')
  t.equal(listed.status, 200)
  const states = Object.fromEntries(listed.body.items!.map((key) => [key['state'], key['kid']]))
  t.ok(states['active'] && states['next'], 'an active and a next key')
  t.notOk(JSON.stringify(listed.body).match(/"(d|p|q|dp|dq|qi|private_key)"/), 'no private material')
  const signedBy = decodeProtectedHeader(api.token!).kid
  t.equal(signedBy, states['active'])

  const early = await api.post('/keys/rotate', {})
  isProblem(t, early, 409, 'too-early')
  t.ok(Number(early.headers.get('retry-after')) > 0, 'Retry-After says how long')
  t.type(early.body['wait_seconds'], 'number')

  const rotated = await api.post('/keys/rotate', { immediately: true })
  t.equal(rotated.status, 200)
  t.equal(rotated.body['active_kid'], states['next'], 'the next key signs')
  t.ok((await publishedKids()).includes(states['active'] as string), 'the old key stays published until its tokens expire')
  const fresh = await adminToken(ctx.issuer, ops)
  t.equal(decodeProtectedHeader(fresh).kid, states['next'], 'new tokens are signed by the new key')
  t.equal((await api.get('/keys')).status, 200, 'tokens of the old key still verify')

  const revoked = await api.post(`/keys/${encodeURIComponent(states['active'] as string)}/revoke`)
  t.equal(revoked.status, 200)
  t.match(revoked.body, { revoked: states['active'], active_kid: states['next'] })
  t.notOk((await publishedKids()).includes(states['active'] as string), 'gone from the JWKS at once')
  isProblem(t, await api.get('/keys'), 401, 'invalid-token')
  api.token = fresh
  t.equal((await api.get('/keys')).status, 200, 'tokens of the remaining key work')
  isProblem(t, await api.post(`/keys/${encodeURIComponent(states['active'] as string)}/revoke`), 404, 'not-found')
  isProblem(t, await api.post('/keys/no-such-kid/revoke'), 404, 'not-found')

  const events = await api.get('/audit-events?type=key_rotation')
  t.ok(events.body.items!.length >= 2)
  t.ok(
    events.body.items!.every((event) => (event['detail'] as { actor?: string }).actor === `client:${ops.id}`),
    'rotation and revocation name the actor',
  )
})

t.test('sessions: list a user’s, end one; the browser must sign in again', async (t) => {
  const rp = await ctx.addClient({ name: 'Shop', redirectUris: ['https://shop.example/callback'] })
  const user = await ctx.addUser()
  const jar = new FetchCookieJar()
  const request = { clientId: rp.client.id, redirectUri: 'https://shop.example/callback', scope: 'openid' }
  await signIn(ctx.issuer, ctx.issuer, request, user, jar)
  const again = await authorizeAt(ctx.issuer, authorizationRequest(request), jar)
  t.equal(again.pathname, '/callback', 'signed in: single sign-on')

  const sessions = await api.get(`/users/${user.id}/sessions`)
  t.equal(sessions.status, 200)
  t.equal(sessions.body.items!.length, 1)
  const [session] = sessions.body.items!
  t.match(session, { id: String, sid: String, created_at: String, amr: ['pwd'] })
  t.equal((await api.get(`/users/${user.id}`)).body['live_sessions'], 1)

  t.equal((await api.delete(`/users/${user.id}/sessions/${session!['id'] as string}`)).status, 204)
  const after = await authorizeAt(ctx.issuer, authorizationRequest(request), jar)
  t.equal(after.pathname, '/login', 'the browser is sent to the login page')
  t.same((await api.get(`/users/${user.id}/sessions`)).body.items, [])
  isProblem(t, await api.delete(`/users/${user.id}/sessions/${session!['id'] as string}`), 404, 'not-found')
  isProblem(t, await api.get('/users/nobody/sessions'), 404, 'not-found')
  const [ended] = (await api.get(`/audit-events?type=revocation&user_id=${user.id}`)).body.items!
  t.match(ended, { detail: { kind: 'session', reason: 'ended_by_admin', actor: `client:${ops.id}` } })
})

t.test('APIs: register, list, read, remove', async (t) => {
  const photos = 'https://photos.example.com'
  const created = await api.post('/apis', {
    identifier: photos,
    name: 'Photos',
    scopes: [{ name: 'photos:read', description: 'See your photos' }, { name: 'photos:write' }],
    access_token_ttl: 300,
  })
  t.equal(created.status, 201)
  t.match(created.body, {
    identifier: photos,
    scopes: [
      { name: 'photos:read', description: 'See your photos' },
      { name: 'photos:write', description: 'photos:write in Photos' },
    ],
    access_token_ttl: 300,
    first_party_only: false,
  })
  t.equal(created.headers.get('location'), `${ctx.issuer}/admin/api/v1/apis/${encodeURIComponent(photos)}`)
  isProblem(t, await api.post('/apis', { identifier: photos, name: 'Again' }), 422, 'invalid-input')
  const reserved = await api.post('/apis', { identifier: `${ctx.issuer}/admin/api`, name: 'Mine' })
  isProblem(t, reserved, 422, 'invalid-input')
  t.match(reserved.body.errors, [{ pointer: '#/identifier' }], "Tessera's own admin API is reserved")
  isProblem(t, await api.post('/apis', { identifier: 'ftp://x', name: 'X' }), 422, 'invalid-input')
  isProblem(t, await api.post('/apis', { identifier: 'https://x.example', name: 'X', scopes: [{ name: 'a=b' }] }), 400, 'validation-error')

  ctx.clock.advance(1)
  await api.post('/apis', { identifier: 'https://mail.example.com', name: 'Mail' })
  const { items } = await allPages(api, '/apis', 1)
  t.same(
    items.map((item) => item['identifier']),
    [photos, 'https://mail.example.com'],
    'oldest first, one per page',
  )
  t.match((await api.get(`/apis/${encodeURIComponent(photos)}`)).body, { identifier: photos, name: 'Photos' })
  t.equal((await api.delete(`/apis/${encodeURIComponent(photos)}`)).status, 204)
  isProblem(t, await api.get(`/apis/${encodeURIComponent(photos)}`), 404, 'not-found')
  isProblem(t, await api.delete(`/apis/${encodeURIComponent(photos)}`), 404, 'not-found')
  const events = await api.get('/audit-events?type=api_registered')
  t.match(events.body.items, [{ detail: { actor: `client:${ops.id}`, api: 'https://mail.example.com' } }, { detail: { api: photos } }])
})

t.test('connections: list, disable, enable, remove', async (t) => {
  const connection = await addConnection(ctx.deps, {
    name: 'GitHub',
    type: 'oauth2',
    clientId: 'gh-client',
    clientSecret: 'gh-secret-never-shown',
    scopes: ['read:user'],
    domains: [],
    trustEmail: false,
    storeTokens: false,
    authorizationEndpoint: 'https://github.example/login/oauth/authorize',
    tokenEndpoint: 'https://github.example/login/oauth/access_token',
    userEndpoint: 'https://api.github.example/user',
  })
  const listed = await api.get('/connections')
  t.match(listed.body.items, [
    {
      id: connection.id,
      name: 'GitHub',
      type: 'oauth2',
      enabled: true,
      redirect_uri: `${ctx.issuer}/login/connections/${connection.id}/callback`,
    },
  ])
  t.notOk(JSON.stringify(listed.body).includes('gh-secret'), 'never the client secret')
  t.match((await api.post(`/connections/${connection.id}/disable`)).body, { enabled: false, disabled_at: String })
  t.equal((await ctx.deps.repos.connections.find(connection.id))?.disabledAt, ctx.clock.now(), 'stored')
  t.match((await api.post(`/connections/${connection.id}/enable`)).body, { enabled: true, disabled_at: null })
  t.equal((await api.delete(`/connections/${connection.id}`)).status, 204)
  isProblem(t, await api.get(`/connections/${connection.id}`), 404, 'not-found')
  isProblem(t, await api.post('/connections/GitHub/disable'), 404, 'not-found')
  const events = await api.get('/audit-events?type=connection_disabled')
  t.match(events.body.items, [{ detail: { connection: connection.id, actor: `client:${ops.id}` } }])
})

t.test('a DPoP-bound token works only with a proof of its key', async (t) => {
  const key = await DpopKey.generate()
  const issued = await send(new URL('/token', ctx.issuer), {
    method: 'POST',
    headers: {
      ...FORM,
      authorization: basic(ops.id, ops.secret),
      dpop: await key.proof({ url: `${ctx.issuer}/token` }, ctx.clock.now()),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin:read' }).toString(),
  })
  const { access_token: token, token_type: type } = JSON.parse(issued.text) as { access_token: string; token_type: string }
  t.equal(type, 'DPoP')
  const url = `${ctx.issuer}/admin/api/v1/keys`
  const proved = await send(new URL(url), {
    headers: { authorization: `DPoP ${token}`, dpop: await key.proof({ method: 'GET', url, accessToken: token }, ctx.clock.now()) },
  })
  t.equal(proved.status, 200, 'DPoP scheme and a proof for this request')
  const asBearer = await api.get('/keys', { token })
  isProblem(t, asBearer, 401, 'invalid-token')
  t.match(asBearer.headers.get('www-authenticate'), /^DPoP /, 'a bound token sent as Bearer is refused with a DPoP challenge')
  const other = await DpopKey.generate()
  const wrongKey = await send(new URL(url), {
    headers: { authorization: `DPoP ${token}`, dpop: await other.proof({ method: 'GET', url, accessToken: token }, ctx.clock.now()) },
  })
  t.equal(wrongKey.status, 401, 'a proof of another key')
})

t.test('webhooks: add (the secret once), list, read, disable, enable, remove', async (t) => {
  const url = 'http://127.0.0.1:9/hooks/tessera'
  const created = await api.post('/webhooks', { url, events: ['user.*', 'login.failed'] }, { headers: { 'idempotency-key': 'wh-1' } })
  t.equal(created.status, 201)
  const id = created.body['id'] as string
  t.match(created.body, {
    url,
    events: ['user.*', 'login.failed'],
    enabled: true,
    disabled_at: null,
    secret: /^whsec_[A-Za-z0-9+/=]{20,}$/,
  })
  const stored = await ctx.deps.repos.webhooks.find(id)
  t.equal(webhookSecret(ctx.deps.webhookKey, stored!), created.body['secret'], 'the secret shown is the one deliveries are signed with')
  t.equal(created.headers.get('location'), `${ctx.issuer}/admin/api/v1/webhooks/${id}`)
  const replayed = await api.post('/webhooks', { url, events: ['user.*', 'login.failed'] }, { headers: { 'idempotency-key': 'wh-1' } })
  t.equal(replayed.body['id'], id, 'the same key answers the same webhook')
  t.equal((await ctx.deps.repos.webhooks.list()).length, 1, 'and adds no second one')

  const listed = await api.get('/webhooks')
  t.match(listed.body.items, [{ id, url, enabled: true }])
  t.notOk(JSON.stringify(listed.body).includes('whsec_'), 'lists never carry the secret')
  t.notOk(JSON.stringify((await api.get(`/webhooks/${id}`)).body).includes('whsec_'), 'reads neither')
  t.match((await api.post(`/webhooks/${id}/disable`)).body, { id, enabled: false, disabled_at: String })
  t.equal((await ctx.deps.repos.webhooks.find(id))?.disabledAt, ctx.clock.now(), 'stored')
  t.match((await api.post(`/webhooks/${id}/enable`)).body, { id, enabled: true, disabled_at: null })
  t.equal((await api.delete(`/webhooks/${id}`)).status, 204)
  isProblem(t, await api.get(`/webhooks/${id}`), 404, 'not-found')
  isProblem(t, await api.delete(`/webhooks/${id}`), 404, 'not-found')

  const badUrl = await api.post('/webhooks', { url: 'http://hooks.example.com/x', events: ['*'] })
  isProblem(t, badUrl, 422, 'invalid-input')
  t.match(badUrl.body, { errors: [{ pointer: '#/url' }] })
  const badEvent = await api.post('/webhooks', { url, events: ['user.nonsense'] })
  isProblem(t, badEvent, 422, 'invalid-input')
  t.match(badEvent.body, { errors: [{ pointer: '#/events' }] })
  isProblem(t, await api.post('/webhooks', { url, events: [] }), 400, 'validation-error')
  isProblem(
    t,
    await api.get('/webhooks', { token: await adminToken(ctx.issuer, ops, { scope: 'admin:write' }) }),
    403,
    'insufficient-scope',
  )
  const events = await api.get('/audit-events?type=webhook_added')
  t.match(events.body.items, [{ detail: { webhook: id, host: '127.0.0.1:9', actor: `client:${ops.id}` } }])
})
