/**
 * /introspect (RFC 7662, docs/security.md §G): client authentication required (public clients refused),
 * live tokens described, and `{"active":false}` for anything not live: expired, revoked,
 * foreign-signed, an ID token, garbage.
 */
import t from 'tap'
import { generateKeyPair, SignJWT } from 'jose'
import { claims, introspect, post, revoke, signIn, type RegisteredClient } from '../helpers/client.js'
import { cliFor } from '../helpers/cli.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

async function ourKid(ctx: TestApp): Promise<string> {
  const jwks = (await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }
  return jwks.keys[0]!.kid
}

t.test('client authentication is required; public clients are refused', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const spa = await ctx.addClient({ isPublic: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)

  const cases: [string, RegisteredClient | null, Record<string, string>][] = [
    ['no credentials', null, {}],
    ['confidential client_id without secret', null, { client_id: rp.client.id }],
    ['wrong secret', { client: rp.client, secret: 'not-the-secret' }, {}],
    ['public client', spa, {}],
  ]
  for (const [label, as, extra] of cases) {
    const response = await post(ctx, '/introspect', as, { token: tokens.access_token, ...extra })
    t.equal(response.statusCode, 401, `${label}: 401`)
    t.equal(response.json().error, 'invalid_client', `${label}: invalid_client`)
    t.ok(response.headers['www-authenticate'], `${label}: WWW-Authenticate`)
    t.notOk('active' in response.json(), `${label}: nothing about the token`)
  }
})

t.test('live tokens: active with sub, client_id, scope, exp, iat, iss, token_type', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const resourceServer = await ctx.addClient({
    name: 'Resource server',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    introspect: true,
  })
  const otherApp = await ctx.addClient({ name: 'Another app', grantTypes: ['client_credentials'], redirectUris: [] })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid email offline_access' })
  const now = ctx.clock.now()

  const response = await post(ctx, '/introspect', rp, { token: tokens.access_token })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  t.match(response.headers['content-type'], /^application\/json/)
  const access = response.json() as Record<string, unknown>
  t.match(access, {
    active: true,
    sub: user.id,
    client_id: rp.client.id,
    scope: 'openid email offline_access',
    iss: ctx.issuer,
    iat: now,
    exp: now + tokens.expires_in,
  })
  t.match(access['token_type'], /^bearer$/i, 'token_type Bearer')
  t.equal(access['exp'], claims(tokens.access_token)['exp'], 'exp matches the JWT')

  const rs = await introspect(ctx, resourceServer, tokens.access_token)
  t.equal(rs['active'], true, 'a resource server registered with --introspect can introspect another client’s access token')
  t.equal(rs['sub'], user.id)
  t.same(
    await introspect(ctx, otherApp, tokens.access_token),
    { active: false },
    'any other confidential client learns nothing: no sub, no scope',
  )
  t.same(await introspect(ctx, resourceServer, tokens.refresh_token!), { active: false }, 'refresh tokens only ever to their own client')

  const refresh = await introspect(ctx, rp, tokens.refresh_token!, { token_type_hint: 'refresh_token' })
  t.match(refresh, { active: true, sub: user.id, client_id: rp.client.id, scope: 'openid email offline_access', iss: ctx.issuer, iat: now })
  t.type(refresh['exp'], 'number')
  t.type(refresh['token_type'], 'string')
  t.equal(
    (await introspect(ctx, rp, tokens.refresh_token!, { token_type_hint: 'access_token' }))['active'],
    true,
    'a wrong hint still finds it',
  )
})

t.test('expired tokens are inactive (FakeClock)', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  ctx.clock.advance(tokens.expires_in - 1)
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, true, 'active one second before exp')
  ctx.clock.advance(1)
  t.same(await introspect(ctx, rp, tokens.access_token), { active: false }, 'at exp: exactly {"active":false}')
})

t.test('revoked tokens are inactive and reveal nothing', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  const { tokens: other } = await signIn(ctx, rp, user)
  await revoke(ctx, rp, tokens.access_token)
  await revoke(ctx, rp, other.refresh_token!)
  t.same(await introspect(ctx, rp, tokens.access_token), { active: false }, 'revoked access token')
  t.same(await introspect(ctx, rp, other.refresh_token!), { active: false }, 'revoked refresh token')
  t.same(await introspect(ctx, rp, other.access_token), { active: false }, 'access token of a revoked family')
})

t.test('foreign-signed, unsigned, ID tokens and garbage are inactive', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  const payload = claims(tokens.access_token)
  const kid = await ourKid(ctx)

  const { privateKey } = await generateKeyPair('RS256')
  const foreign = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' }).sign(privateKey)
  const hmac = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
    .sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'))
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')
  const unsigned = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`
  const [h, p] = tokens.access_token.split('.')
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: 'openid admin' })).toString('base64url')}.${tokens.access_token.split('.')[2]}`

  const cases: [string, string][] = [
    ['foreign key with our kid', foreign],
    ['HS256', hmac],
    ['alg none', unsigned],
    ['tampered payload', tampered],
    ['ID token', tokens.id_token!],
    ['garbage', 'not-a-token'],
    ['dots', 'a.b.c'],
    ['header only', `${h}.${p}`],
    ['long garbage', 'x'.repeat(5000)],
  ]
  for (const [label, token] of cases) t.same(await introspect(ctx, rp, token), { active: false }, label)
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, true, 'the genuine token is still active')
})

t.test('a missing token → invalid_request', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const response = await post(ctx, '/introspect', rp, {})
  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
})

t.test('a resource server introspects only the tokens of its own audiences (RFC 7662 §4)', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const idp = cliFor(ctx)
  const PHOTOS = 'https://photos.example.com'
  const MAIL = 'https://mail.example.com'
  for (const [identifier, name, scope] of [
    [PHOTOS, 'Photos', 'photos:read'],
    [MAIL, 'Mail', 'mail:read'],
  ] as const)
    t.equal((await idp(['apis', 'add', '--identifier', identifier, '--name', name, '--scope', scope])).code, 0, `API ${name}`)
  const add = async (...flags: string[]): Promise<RegisteredClient> => {
    const added = await idp(['clients', 'add', '--name', 'Service', '--grant-type', 'client_credentials', ...flags, '--json'])
    t.equal(added.code, 0, `clients add ${flags.join(' ')}`)
    const client = await ctx.deps.repos.clients.find(added.json['client_id'] as string)
    return { client: client!, secret: added.json['client_secret'] as string }
  }
  const app = await add('--api', PHOTOS, '--api', MAIL, '--scope', 'reports')
  const photosServer = await add('--introspect-api', PHOTOS)
  const ownServer = await add('--introspect')
  const tokenFor = async (resource?: string): Promise<string> => {
    const response = await post(ctx, '/token', app, { grant_type: 'client_credentials', ...(resource ? { resource } : {}) })
    t.equal(response.statusCode, 200, `a token for ${resource ?? 'Tessera'}`)
    return (response.json() as { access_token: string }).access_token
  }
  const photos = await tokenFor(PHOTOS)
  const mail = await tokenFor(MAIL)
  const plain = await tokenFor()

  t.match(await introspect(ctx, photosServer, photos), { active: true, aud: PHOTOS, client_id: app.client.id }, 'its own API’s token')
  t.same(await introspect(ctx, photosServer, mail), { active: false }, 'nothing about another API’s token')
  t.same(await introspect(ctx, photosServer, plain), { active: false }, 'nor about tokens for Tessera’s own audience')
  t.match(await introspect(ctx, ownServer, plain), { active: true, aud: ctx.issuer }, '--introspect: tokens asked for without resource')
  t.same(await introspect(ctx, ownServer, photos), { active: false }, '--introspect alone covers no registered API')
  t.match(await introspect(ctx, app, mail), { active: true }, 'a client always learns about its own tokens')

  const unknownApi = await idp([
    'clients',
    'add',
    '--name',
    'X',
    '--grant-type',
    'client_credentials',
    '--introspect-api',
    'https://nope.example',
  ])
  t.equal(unknownApi.code, 1)
  t.match(unknownApi.stderr.join('\n'), /--introspect-api https:\/\/nope\.example: no such API/, 'an unregistered API is named')
  const publicServer = await idp([
    'clients',
    'add',
    '--name',
    'Y',
    '--public',
    '--redirect-uri',
    'http://127.0.0.1/cb',
    '--introspect-api',
    PHOTOS,
  ])
  t.match(publicServer.stderr.join('\n'), /--introspect-api: needs a confidential client/)

  // An existing client becomes a resource server (and stops being one) with clients update.
  const updated = await idp(['clients', 'update', photosServer.client.id, '--introspect-api', MAIL, '--introspect', '--json'])
  t.equal(updated.code, 0)
  t.match(updated.json, { introspect: true, introspect_apis: [MAIL] })
  t.match(await introspect(ctx, photosServer, mail), { active: true }, 'now the mail API’s tokens')
  t.match(await introspect(ctx, photosServer, plain), { active: true }, 'and tokens for Tessera')
  t.same(await introspect(ctx, photosServer, photos), { active: false }, 'the list was replaced: no longer photos')
  t.equal((await idp(['clients', 'update', photosServer.client.id, '--no-introspect', '--no-introspect-api'])).code, 0)
  t.same(await introspect(ctx, photosServer, mail), { active: false }, 'no longer a resource server')
  t.same(await introspect(ctx, photosServer, plain), { active: false })
  const events = await ctx.deps.repos.auditEvents.list({ type: 'client_updated', limit: 10 })
  t.match(events[0], { clientId: photosServer.client.id, detail: { actor: 'cli', changed: ['introspect', 'introspect_apis'] } }, 'audited')
})
