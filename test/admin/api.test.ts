/**
 * The admin API over real HTTP, with a token from openid-client's clientCredentialsGrant: who may
 * call it (tokens for ISSUER/admin/api only, admin:read / admin:write, never a self-registered
 * client), problem details for every refusal, clients and users end to end (the secret rotation's
 * overlap checked at the token endpoint), idempotent creation, cursor pagination, the audit trail.
 */
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { DPOP_ALGORITHMS } from '../../src/oauth/dpop.js'
import { clientPost, send, type ClientCredentials } from '../helpers/http-client.js'
import { adminToken, allPages, AdminApi, startAdmin } from './support.js'

const context = await startAdmin({ env: { REGISTRATION: 'open' } })
t.teardown(() => context.ctx.close())
const { ctx, ops, api } = context
const ADMIN = `${ctx.issuer}/admin/api`

/** A problem answer: status, media type and members (RFC 9457). */
function isProblem(t: Test, reply: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, kind: string) {
  t.equal(reply.status, status, `status ${status}`)
  t.match(reply.headers.get('content-type'), /^application\/problem\+json/, 'application/problem+json')
  t.match(reply.body, { type: `urn:tessera:problem:${kind}`, title: String, status, detail: String }, `a ${kind} problem`)
}

const tokenFor = (client: ClientCredentials, params: Record<string, string>) =>
  clientPost(ctx.issuer, '/token', client, { grant_type: 'client_credentials', ...params })

t.test('tokens for the admin API', async (t) => {
  const claims = decodeJwt(api.token!)
  t.equal(claims.aud, ADMIN, 'asked by scope alone, the token is for ISSUER/admin/api')
  t.equal(claims.scope, 'admin:read admin:write')
  t.equal(claims.sub, ops.id, 'the client acts for itself')

  const byResource = decodeJwt(await adminToken(ctx.issuer, ops, { resource: ADMIN }))
  t.match(byResource, { aud: ADMIN, scope: 'admin:read admin:write' }, 'resource=ISSUER/admin/api: every admin scope the client has')
  t.match(decodeJwt(await adminToken(ctx.issuer, ops, { resource: ADMIN, scope: 'admin:read' })), { aud: ADMIN, scope: 'admin:read' })

  const mixed = await tokenFor(ops, { scope: 'admin:read openid' })
  t.match(JSON.parse(mixed.text), { error: 'invalid_scope' }, 'admin scopes do not ride with others')

  const service = await ctx.addClient({ name: 'orders', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['orders:read'] })
  const orders = { id: service.client.id, secret: service.secret! }
  t.match(JSON.parse((await tokenFor(orders, { scope: 'admin:read' })).text), { error: 'invalid_scope' }, 'a client without admin scopes')
  t.match(JSON.parse((await tokenFor(orders, { resource: ADMIN })).text), { error: 'invalid_target' })
  const ordinary = JSON.parse((await tokenFor(orders, {})).text) as { access_token: string }
  t.equal(decodeJwt(ordinary.access_token).aud, ctx.issuer, 'its own tokens are for the default audience')
  isProblem(t, await api.get('/clients', { token: ordinary.access_token }), 401, 'invalid-token')

  await t.test('a self-registered client never gets admin scopes', async (t) => {
    const register = (metadata: Record<string, unknown>) =>
      send(new URL('/register', ctx.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'Sneaky', token_endpoint_auth_method: 'client_secret_basic', ...metadata }),
      })
    const service = await register({ grant_types: ['client_credentials'], scope: 'admin:read admin:write' })
    t.equal(service.status, 400, 'no client_credentials for a self-registered client at all')
    t.match(JSON.parse(service.text), { error: 'invalid_client_metadata' })
    const registered = await register({ redirect_uris: ['https://sneaky.example/cb'], scope: 'openid admin:read admin:write' })
    t.equal(registered.status, 201, 'registered (RFC 7591)')
    const { client_id: id, client_secret: secret } = JSON.parse(registered.text) as { client_id: string; client_secret: string }
    t.match(JSON.parse((await tokenFor({ id, secret }, { scope: 'admin:read' })).text), { error: 'unauthorized_client' })
    t.notMatch(JSON.parse(registered.text)['scope'] ?? '', /admin:/, 'no admin scope was given')
    const given = await api.patch(`/clients/${id}`, { scopes: ['openid', 'admin:write'] })
    isProblem(t, given, 422, 'invalid-input')
    t.match(given.body.errors, [{ pointer: '#/scopes' }], 'the admin API refuses to give it admin scopes')
  })
})

t.test('401 and 403 are problems with a Bearer challenge', async (t) => {
  const missing = await api.get('/clients', { token: null })
  isProblem(t, missing, 401, 'invalid-token')
  t.equal(
    missing.headers.get('www-authenticate'),
    `Bearer realm="tessera", DPoP realm="tessera", algs="${DPOP_ALGORITHMS.join(' ')}"`,
    'no token at all: the challenges alone, without an error (RFC 6750 §3.1)',
  )
  const bad = await api.get('/clients', { token: 'not.a.jwt' })
  isProblem(t, bad, 401, 'invalid-token')
  t.match(bad.headers.get('www-authenticate'), /error="invalid_token"/)
  isProblem(t, await api.get('/no-such-thing', { token: null }), 401, 'invalid-token')

  const reader = new AdminApi(ctx.issuer, await adminToken(ctx.issuer, ops, { scope: 'admin:read' }))
  t.equal((await reader.get('/clients')).status, 200, 'admin:read reads')
  const write = await reader.post('/users', { email: 'nobody@example.com', password: 'a long enough password' })
  isProblem(t, write, 403, 'insufficient-scope')
  t.match(write.headers.get('www-authenticate'), /^Bearer realm="tessera", error="insufficient_scope", .*scope="admin:write"/)
  isProblem(t, await reader.delete(`/clients/${ops.id}`), 403, 'insufficient-scope')

  const revoked = await adminToken(ctx.issuer, ops)
  t.equal((await api.get('/keys', { token: revoked })).status, 200)
  await clientPost(ctx.issuer, '/revoke', ops, { token: revoked })
  isProblem(t, await api.get('/keys', { token: revoked }), 401, 'invalid-token')
})

t.test('bad input is a problem naming each member', async (t) => {
  const unknown = await api.post('/clients', { name: 'App', redirect_uri: 'https://app.example/cb' })
  isProblem(t, unknown, 400, 'validation-error')
  t.match(unknown.body.errors, [{ pointer: '#/redirect_uri' }], 'an unknown member is refused, not dropped')
  const typed = await api.post('/clients', { name: 42, grant_types: ['password'] })
  isProblem(t, typed, 400, 'validation-error')
  t.match(typed.body.errors, [{ pointer: '#/name' }], 'a wrong type')
  t.ok(
    (typed.body.errors as { pointer: string }[]).some((error) => error.pointer.startsWith('#/grant_types')),
    'and every other member',
  )
  isProblem(
    t,
    await api.post('/clients', undefined, { raw: 'name=App', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    415,
    'invalid-request',
  )
  isProblem(
    t,
    await api.post('/clients', undefined, { raw: '{"name":', headers: { 'content-type': 'application/json' } }),
    400,
    'invalid-request',
  )
  const limit = await api.get('/users?limit=0')
  isProblem(t, limit, 400, 'validation-error')
  t.match(limit.body.errors, [{ parameter: 'limit' }])
  isProblem(t, await api.get('/users?limit=5&sort=email'), 400, 'validation-error')

  const rules = await api.post('/clients', { name: 'App', redirect_uris: ['http://app.example/cb'] })
  isProblem(t, rules, 422, 'invalid-input')
  t.match(rules.body.errors, [{ pointer: '#/redirect_uris', detail: /http/ }], 'the registration rules, naming the member')
  isProblem(t, await api.get('/clients/no-such-client'), 404, 'not-found')
  isProblem(t, await api.get('/users/no-such-user'), 404, 'not-found')
})

t.test('clients: register, read, list, change, rotate the secret, delete', async (t) => {
  const created = await api.post('/clients', {
    name: 'Billing service',
    grant_types: ['client_credentials'],
    scopes: ['billing:read'],
  })
  t.equal(created.status, 201)
  const id = created.body.client_id as string
  const firstSecret = created.body.client_secret as string
  t.ok(firstSecret, 'the secret, once')
  t.equal(created.headers.get('location'), `${ctx.issuer}/admin/api/v1/clients/${id}`)
  t.match(created.body, { name: 'Billing service', type: 'confidential', registration: 'cli', grant_types: ['client_credentials'] })

  const read = await api.get(`/clients/${id}`)
  t.equal(read.status, 200)
  t.notOk('client_secret' in read.body, 'never in a read')
  t.match(read.body, { client_id: id, apis: [], previous_secret_expires_at: null, created_at: /^\d{4}-\d{2}-\d{2}T/ })
  const listed = await allPages(api, '/clients', 2)
  t.ok(listed.items.some((client) => client['client_id'] === id))
  t.notOk(
    listed.items.some((client) => 'client_secret' in client),
    'never in a list',
  )
  t.same(new Set(listed.items.map((client) => client['client_id'])).size, listed.items.length, 'pages neither repeat nor skip')
  const dynamicOnly = await api.get('/clients?registration=dynamic')
  t.ok(
    dynamicOnly.body.items!.every((client) => client['registration'] === 'dynamic'),
    'filtered by registration',
  )

  const changed = await api.patch(`/clients/${id}`, {
    name: 'Billing',
    grant_types: ['client_credentials', 'authorization_code'],
    redirect_uris: ['https://billing.example/callback'],
    require_dpop: false,
  })
  t.equal(changed.status, 200)
  t.match(changed.body, { name: 'Billing', redirect_uris: ['https://billing.example/callback'] })
  isProblem(t, await api.patch(`/clients/${id}`, { redirect_uris: [] }), 422, 'invalid-input')

  await t.test('rotation: both secrets work during the overlap, then only the new one', async (t) => {
    const rotated = await api.post(`/clients/${id}/rotate-secret`, { secret_overlap: 600 })
    t.equal(rotated.status, 200)
    const secondSecret = rotated.body.client_secret as string
    t.not(secondSecret, firstSecret)
    t.equal(rotated.body.previous_secret_expires_at, new Date((ctx.clock.now() + 600) * 1000).toISOString())
    for (const [label, secret] of [
      ['the old secret', firstSecret],
      ['the new secret', secondSecret],
    ] as const) {
      const answer = await tokenFor({ id, secret }, { scope: 'billing:read' })
      t.equal(answer.status, 200, `${label} works during the overlap`)
    }
    t.notOk('client_secret' in (await api.get(`/clients/${id}`)).body, 'the new secret is not readable either')
    ctx.clock.advance(601)
    const old = await tokenFor({ id, secret: firstSecret }, { scope: 'billing:read' })
    t.equal(old.status, 401, 'after the overlap the old secret is refused')
    t.equal((await tokenFor({ id, secret: secondSecret }, { scope: 'billing:read' })).status, 200, 'the new one works')
    // The admin token of this suite expired with the clock: a new one.
    api.token = await adminToken(ctx.issuer, ops)

    const atOnce = await api.post(`/clients/${id}/rotate-secret`, { secret_overlap: 0 })
    t.equal(atOnce.body.previous_secret_expires_at, null)
    t.equal((await tokenFor({ id, secret: secondSecret }, { scope: 'billing:read' })).status, 401, 'overlap 0: the old one stops at once')
    isProblem(t, await api.post(`/clients/${id}/rotate-secret`, { secret_overlap: -1 }), 400, 'validation-error')
    const publicClient = await api.post('/clients', { name: 'SPA', public: true, redirect_uris: ['https://spa.example/cb'] })
    isProblem(t, await api.post(`/clients/${publicClient.body.client_id as string}/rotate-secret`, {}), 409, 'conflict')
  })

  const deleted = await api.delete(`/clients/${id}`)
  t.equal(deleted.status, 204)
  isProblem(t, await api.get(`/clients/${id}`), 404, 'not-found')
  isProblem(t, await api.delete(`/clients/${id}`), 404, 'not-found')
})

t.test('Idempotency-Key: the same request replays its answer, another is refused', async (t) => {
  const body = { name: 'Nightly job', grant_types: ['client_credentials'], scopes: ['reports:read'] }
  const headers = { 'idempotency-key': 'create-nightly-job-1' }
  const first = await api.post('/clients', body, { headers })
  t.equal(first.status, 201)
  t.notOk(first.headers.get('idempotent-replayed'))
  const again = await api.post(
    '/clients',
    { scopes: ['reports:read'], grant_types: ['client_credentials'], name: 'Nightly job' },
    { headers },
  )
  t.equal(again.status, 201, 'the same body (members in another order)')
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.same(again.body, first.body, 'the same answer, secret included')
  const named = (await allPages(api, '/clients', 50)).items.filter((client) => client['name'] === 'Nightly job')
  t.equal(named.length, 1, 'one client was made')

  const other = await api.post('/clients', { ...body, name: 'Another job' }, { headers })
  isProblem(t, other, 422, 'idempotency-key-reused')

  const user = { email: 'idem@example.com', password: 'correct horse battery staple' }
  const userHeaders = { 'idempotency-key': 'user-idem' }
  const made = await api.post('/users', user, { headers: userHeaders })
  t.equal(made.status, 201)
  const replay = await api.post('/users', user, { headers: userHeaders })
  t.same(replay.body, made.body)
  t.equal(replay.headers.get('idempotent-replayed'), 'true')
  isProblem(t, await api.post('/users', user), 409, 'conflict')

  const failed = await api.post('/users', { email: 'weak@example.com', password: 'short' }, { headers: { 'idempotency-key': 'weak' } })
  isProblem(t, failed, 422, 'invalid-input')
  const retried = await api.post(
    '/users',
    { email: 'weak@example.com', password: 'a much longer password' },
    { headers: { 'idempotency-key': 'weak' } },
  )
  t.equal(retried.status, 201, 'a failed request does not hold its key')

  // Keys belong to their caller: another operator client's same key is its own.
  const second = await ctx.addClient({ name: 'ops 2', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['admin:write'] })
  const api2 = new AdminApi(
    ctx.issuer,
    await adminToken(ctx.issuer, { id: second.client.id, secret: second.secret! }, { scope: 'admin:write' }),
  )
  const theirs = await api2.post('/clients', { ...body, name: 'Their job' }, { headers })
  t.equal(theirs.status, 201)
  t.notOk(theirs.headers.get('idempotent-replayed'))

  isProblem(t, await api.post('/users', user, { headers: { 'idempotency-key': 'bad key with spaces' } }), 400, 'validation-error')
  const stored = await ctx.deps.store.db.selectFrom('idempotency_keys').select('response').execute()
  t.ok(stored.length >= 3)
  t.notOk(
    stored.some((row) => row.response?.includes(first.body.client_secret as string)),
    'the remembered answers are sealed',
  )
})

t.test('users: create, read, change, roles, disable, factors, export, delete', async (t) => {
  const created = await api.post('/users', {
    email: 'Ada@Example.com',
    name: 'Ada',
    password: 'correct horse battery staple',
    roles: ['ops'],
  })
  t.equal(created.status, 201)
  t.match(created.body, { email: 'ada@example.com', name: 'Ada', roles: ['ops'], email_verified: true, disabled: false })
  t.notOk('password' in created.body || 'password_hash' in created.body)
  const id = created.body.id as string
  t.equal(created.headers.get('location'), `${ctx.issuer}/admin/api/v1/users/${id}`)
  const weak = await api.post('/users', { email: 'b@example.com', password: 'password' })
  isProblem(t, weak, 422, 'invalid-input')
  t.match(weak.body.errors, [{ pointer: '#/password' }])

  t.match((await api.get(`/users/${id}`)).body, {
    id,
    factors: { passkeys: 0, totp: false, recovery_codes: 0 },
    live_sessions: 0,
    linked_identities: [],
  })
  t.match((await api.patch(`/users/${id}`, { name: 'Ada L.', email: 'ada.l@example.com' })).body, {
    name: 'Ada L.',
    email: 'ada.l@example.com',
    email_verified: false,
  })
  isProblem(t, await api.patch(`/users/${id}`, { email: 'idem@example.com' }), 409, 'conflict')
  t.match((await api.put(`/users/${id}/roles`, { roles: ['admin', 'ops'] })).body, { roles: ['admin', 'ops'] })
  isProblem(t, await api.put(`/users/${id}/roles`, { roles: ['no spaces'] }), 400, 'validation-error')
  t.match((await api.post(`/users/${id}/disable`)).body, { disabled: true, disabled_at: String })
  t.match((await api.post(`/users/${id}/enable`)).body, { disabled: false, disabled_at: null })
  t.match((await api.post(`/users/${id}/reset-factors`)).body, { user_id: id, removed: { passkeys: 0, totp: false } })

  const exported = await api.get(`/users/${id}/export`)
  t.equal(exported.status, 200)
  t.match(exported.body, { format: 'tessera-user-data', profile: { sub: id, email: 'ada.l@example.com' } })
  t.notOk(JSON.stringify(exported.body).includes('argon2'), 'no password hash')

  t.equal((await api.delete(`/users/${id}`)).status, 204)
  isProblem(t, await api.get(`/users/${id}`), 404, 'not-found')
  isProblem(t, await api.get(`/users/${id}/export`), 404, 'not-found')
})

t.test('users are listed page by page with an opaque cursor', async (t) => {
  for (let n = 0; n < 7; n++) await ctx.addUser({ email: `page${n}@paged.example` })
  const { items, pages } = await allPages(api, '/users?email=paged.example', 3)
  t.equal(pages, 3, '7 users, 3 per page')
  t.same(
    items.map((user) => user['email']),
    [...Array(7).keys()].map((n) => `page${n}@paged.example`),
    'every user once, by address',
  )
  const first = await api.get('/users?email=paged.example&limit=3')
  t.type(first.body.next_cursor, 'string')
  isProblem(t, await api.get('/users?cursor=not-a-cursor'), 400, 'invalid-cursor')
  isProblem(t, await api.get(`/users?cursor=${Buffer.from('[1,"x"]').toString('base64url')}`), 400, 'invalid-cursor')
})

t.test('every write is an audit event naming its actor; events page by cursor', async (t) => {
  const registered = await api.get('/audit-events?type=client_registered')
  t.ok(registered.body.items!.length >= 2)
  t.ok(
    registered.body.items!.some((event) => (event['detail'] as { actor?: string }).actor === `client:${ops.id}`),
    'named by the client that did it',
  )
  for (const type of ['user_created', 'user_deleted', 'roles_changed', 'client_secret_rotated', 'client_removed', 'account_disabled']) {
    const events = await api.get(`/audit-events?type=${type}`)
    t.ok(
      events.body.items!.some((event) => (event['detail'] as { actor?: string }).actor === `client:${ops.id}`),
      `${type} names client:${ops.id}`,
    )
  }

  const everything = await allPages(api, '/audit-events', 4)
  t.ok(everything.pages > 2, 'several pages')
  const ids = everything.items.map((event) => event['id'])
  t.equal(new Set(ids).size, ids.length, 'no event twice')
  const times = everything.items.map((event) => Date.parse(event['at'] as string))
  t.same(
    times,
    [...times].sort((a, b) => b - a),
    'newest first',
  )
  const total = await ctx.deps.store.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  t.equal(ids.length, Number(total.n), 'and none skipped')

  const user = await ctx.addUser()
  await api.put(`/users/${user.id}/roles`, { roles: ['x'] })
  const mine = await api.get(`/audit-events?user_id=${user.id}`)
  t.match(mine.body.items, [{ type: 'roles_changed', user_id: user.id }])
  const future = new Date((ctx.clock.now() + 3600) * 1000).toISOString()
  t.same((await api.get(`/audit-events?since=${encodeURIComponent(future)}`)).body.items, [], 'since filters by time')
  isProblem(t, await api.get('/audit-events?since=yesterday'), 400, 'validation-error')
})

t.test('the scope answers with the API security headers and no-store', async (t) => {
  const answer = await send(new URL('/admin/api/v1/keys', ctx.issuer), { headers: { authorization: `Bearer ${api.token!}` } })
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.equal(answer.headers.get('x-content-type-options'), 'nosniff')
  t.notOk(answer.headers.get('set-cookie'))
  t.notOk(answer.headers.get('access-control-allow-origin'))
})
