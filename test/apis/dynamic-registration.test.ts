/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592) at /register: off by
 * default; `open` and `token` modes; initial access tokens from the CLI (uses, expiry);
 * metadata errors; read, delete, no update; the flood guard; a registered client signs a user in
 * through consent and may ask for open APIs but not first-party-only ones.
 */
import t, { type Test } from 'tap'
import { registerApi } from '../../src/apis/registry.js'
import { runCli } from '../../src/cli/main.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import {
  authorize,
  claims,
  CookieJar,
  getPage,
  hiddenField,
  pkcePair,
  postForm,
  redeem,
  refresh,
  userinfo,
  type RegisteredClient,
  type Tokens,
} from '../helpers/client.js'

const JSON_HEADERS = { 'content-type': 'application/json' } as const
const AGENT = { client_name: 'Research Agent', redirect_uris: ['https://agent.example/callback'], token_endpoint_auth_method: 'none' }
const PHOTOS = 'https://photos.example/api'
const PAYROLL = 'https://payroll.example/api'

async function app(t: Test, env: Record<string, string>): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

function register(ctx: TestApp, metadata: unknown, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') {
  return ctx.app.inject({
    method: 'POST',
    url: '/register',
    headers: { ...JSON_HEADERS, ...headers },
    payload: JSON.stringify(metadata),
    remoteAddress,
  })
}

async function cli(ctx: TestApp, args: string[]): Promise<{ code: number; json: Record<string, unknown>; errors: string[] }> {
  const out: string[] = []
  const errors: string[] = []
  const code = await runCli([...args, '--json'], {
    env: {
      DATABASE_URL: ctx.databaseUrl,
      KEYS_DIR: ctx.deps.config.keysDir,
      ISSUER: ctx.issuer,
      LOG_LEVEL: 'silent',
      REGISTRATION: 'token',
    },
    stdout: (line) => out.push(line),
    stderr: (line) => errors.push(line),
    readStdin: async () => '',
  })
  return { code, json: out.length > 0 ? (JSON.parse(out.at(-1)!) as Record<string, unknown>) : {}, errors }
}

t.test('off by default: no endpoint, nothing advertised', async (t) => {
  const ctx = await app(t, {})
  const response = await register(ctx, AGENT)
  t.equal(response.statusCode, 404)
  const metadata = (await ctx.app.inject({ url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
  t.notOk('registration_endpoint' in metadata)
})

t.test('REGISTRATION=open: register, read, delete (RFC 7591 §3, RFC 7592 §2)', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'open' })
  const metadata = (await ctx.app.inject({ url: '/.well-known/oauth-authorization-server' })).json() as Record<string, unknown>
  t.equal(metadata['registration_endpoint'], `${ctx.issuer}/register`, 'advertised in the authorization server metadata')

  const response = await register(ctx, { ...AGENT, scope: 'openid photos:read', software_id: 'agent-kit' })
  t.equal(response.statusCode, 201, response.body)
  t.equal(response.headers['cache-control'], 'no-store')
  const registered = response.json() as Record<string, unknown>
  t.match(registered, {
    client_id: String,
    client_name: 'Research Agent',
    redirect_uris: AGENT.redirect_uris,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    software_id: 'agent-kit',
    registration_access_token: String,
    registration_client_uri: `${ctx.issuer}/register/${registered['client_id'] as string}`,
  })
  t.notOk('client_secret' in registered, 'a public client gets no secret')
  t.type(registered['client_id_issued_at'], 'number')

  const confidential = (await register(ctx, { ...AGENT, token_endpoint_auth_method: 'client_secret_basic' })).json() as Record<
    string,
    unknown
  >
  t.type(confidential['client_secret'], 'string', 'a confidential client gets its secret once')
  t.equal(confidential['client_secret_expires_at'], 0)

  const uri = new URL(registered['registration_client_uri'] as string).pathname
  const token = registered['registration_access_token'] as string
  const read = await ctx.app.inject({ url: uri, headers: { authorization: `Bearer ${token}` } })
  t.equal(read.statusCode, 200)
  t.equal((read.json() as Record<string, unknown>)['client_name'], 'Research Agent')
  // RFC 7592 §3: registration_access_token is REQUIRED in the read response; §2.1 lets the server keep it.
  t.equal((read.json() as Record<string, unknown>)['registration_access_token'], token, 'the token in force, not rotated')
  t.notOk('client_secret' in (read.json() as object), 'the secret is not shown again')
  t.equal((read.json() as Record<string, unknown>)['scope'], 'openid', 'the scope in force: photos:read comes with its resource')
  t.equal(registered['scope'], 'openid', 'the registration response says the same')

  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token' }],
    ['another client’s token', { authorization: `Bearer ${confidential['registration_access_token'] as string}` }],
  ] as const) {
    const refused = await ctx.app.inject({ url: uri, headers })
    t.equal(refused.statusCode, 401, what)
    t.match(refused.json(), { error: 'invalid_token' }, what)
  }
  const update = await ctx.app.inject({
    method: 'PUT',
    url: uri,
    headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
    payload: '{}',
  })
  t.equal(update.statusCode, 400)
  t.match(update.json(), { error: 'invalid_request', error_description: /not supported/ })

  const listed = await cli(ctx, ['clients', 'list', '--registration', 'dynamic'])
  t.equal(listed.code, 0, listed.errors.join('\n'))
  t.same(
    (listed.json['clients'] as { client_id: string }[]).map((client) => client.client_id).sort(),
    [registered['client_id'], confidential['client_id']].sort(),
    'idp clients list --registration dynamic',
  )

  const deleted = await ctx.app.inject({ method: 'DELETE', url: uri, headers: { authorization: `Bearer ${token}` } })
  t.equal(deleted.statusCode, 204)
  t.equal((await ctx.app.inject({ url: uri, headers: { authorization: `Bearer ${token}` } })).statusCode, 401, 'gone')
  const { challenge } = pkcePair()
  const authorizeGone = await ctx.app.inject({
    url: `/authorize?${new URLSearchParams({ response_type: 'code', client_id: registered['client_id'] as string, redirect_uri: AGENT.redirect_uris[0]!, code_challenge: challenge, code_challenge_method: 'S256' })}`,
    headers: { accept: 'text/html' },
  })
  t.equal(authorizeGone.statusCode, 400, 'a deleted client cannot start a login')
})

t.test('bad metadata is a clear error and registers nothing', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'open' })
  const cases: [string, unknown, string][] = [
    ['no redirect URI', { client_name: 'x' }, 'invalid_redirect_uri'],
    ['http redirect URI', { redirect_uris: ['http://agent.example/cb'] }, 'invalid_redirect_uri'],
    ['implicit', { ...AGENT, response_types: ['token'] }, 'invalid_client_metadata'],
    ['encrypted ID tokens', { ...AGENT, id_token_encrypted_response_alg: 'RSA-OAEP' }, 'invalid_client_metadata'],
    ['a chosen secret', { ...AGENT, client_secret: 'mine' }, 'invalid_client_metadata'],
    ['client_credentials (tokens with no user to consent)', { grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
    ['a software statement', { ...AGENT, software_statement: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }, 'invalid_client_metadata'],
    ['encrypted introspection', { ...AGENT, introspection_encrypted_response_alg: 'RSA-OAEP' }, 'invalid_client_metadata'],
  ]
  for (const [what, metadata, error] of cases) {
    const response = await register(ctx, metadata)
    t.equal(response.statusCode, 400, what)
    t.match(response.json(), { error, error_description: String }, what)
  }
  const notJson = await ctx.app.inject({ method: 'POST', url: '/register', headers: JSON_HEADERS, payload: '[1,2' })
  t.equal(notJson.statusCode, 400, 'malformed JSON')
  t.equal(await ctx.deps.repos.clients.list().then((clients) => clients.length), 0, 'nothing stored')
})

t.test('REGISTRATION=token: initial access tokens from the CLI, counted and expiring', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'token' })
  const none = await register(ctx, AGENT)
  t.equal(none.statusCode, 401)
  t.match(none.json(), { error: 'invalid_token' })

  const once = await cli(ctx, ['registration', 'token', 'create', '--max-uses', '1'])
  t.equal(once.code, 0, once.errors.join('\n'))
  const bearer = { authorization: `Bearer ${once.json['token'] as string}` }
  t.equal((await register(ctx, { client_name: 'bad' }, bearer)).statusCode, 400, 'bad metadata')
  t.equal((await register(ctx, AGENT, bearer)).statusCode, 201, 'a bad request did not spend the use')
  t.equal((await register(ctx, AGENT, bearer)).statusCode, 401, 'used up')

  const daily = await cli(ctx, ['registration', 'token', 'create', '--expires', '1h'])
  const dailyBearer = { authorization: `Bearer ${daily.json['token'] as string}` }
  t.equal((await register(ctx, AGENT, dailyBearer)).statusCode, 201)
  t.equal((await register(ctx, AGENT, dailyBearer)).statusCode, 201, 'no use limit')
  const listed = await cli(ctx, ['registration', 'token', 'list'])
  t.match(listed.json['tokens'], [
    { id: once.json['id'], uses: 1, max_uses: 1 },
    { id: daily.json['id'], uses: 2, max_uses: null },
  ])
  ctx.clock.set((daily.json['expires_at'] as number) + 1) // the CLI dates it by the real clock
  t.equal((await register(ctx, AGENT, dailyBearer)).statusCode, 401, 'expired')

  const revocable = await cli(ctx, ['registration', 'token', 'create'])
  t.equal((await cli(ctx, ['registration', 'token', 'revoke', revocable.json['id'] as string])).code, 0)
  t.equal((await register(ctx, AGENT, { authorization: `Bearer ${revocable.json['token'] as string}` })).statusCode, 401, 'revoked')
  const unknown = await cli(ctx, ['registration', 'token', 'revoke', 'nope'])
  t.equal(unknown.code, 1)
  t.match(unknown.errors.join('\n'), /no initial access token with id nope/)
  const badUses = await cli(ctx, ['registration', 'token', 'create', '--max-uses', '0'])
  t.equal(badUses.code, 1)
  t.match(badUses.errors.join('\n'), /--max-uses/)
})

t.test('the flood guard limits registrations per address', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'open', REGISTRATION_RATE_LIMIT: '2' })
  t.equal((await register(ctx, AGENT, {}, '192.0.2.1')).statusCode, 201)
  t.equal((await register(ctx, AGENT, {}, '192.0.2.1')).statusCode, 201)
  const third = await register(ctx, AGENT, {}, '192.0.2.1')
  t.equal(third.statusCode, 429)
  t.ok(Number(third.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await register(ctx, AGENT, {}, '192.0.2.2')).statusCode, 201, 'another address is not affected')
})

t.test('a registered client: consent names it as self-registered; open APIs yes, first-party-only no', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'open' })
  const now = ctx.clock.now()
  await registerApi(
    ctx.deps.repos.apis,
    { identifier: PHOTOS, name: 'Photos API', scopes: ['photos:read=See your photos'], accessTokenTtl: null, firstPartyOnly: false },
    now,
  )
  await registerApi(
    ctx.deps.repos.apis,
    { identifier: PAYROLL, name: 'Payroll', scopes: ['payroll:read'], accessTokenTtl: null, firstPartyOnly: true },
    now,
  )
  const user = await ctx.addUser()
  const registered = (await register(ctx, AGENT)).json() as Record<string, unknown>
  const client = await ctx.deps.clients.find(registered['client_id'] as string)
  const rp: RegisteredClient = { client: client!, secret: null }
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const base = {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: AGENT.redirect_uris[0]!,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's1',
  }

  const { response } = await authorize(ctx, jar, { ...base, scope: 'openid photos:read', resource: PHOTOS }, user)
  t.match(response.headers.location, /^\/consent\?/, 'a self-registered client always asks')
  const page = await getPage(ctx, jar, response.headers.location!)
  t.match(page.body, /Research Agent/)
  t.match(page.body, /registered itself/)
  t.match(page.body, /See your photos/, 'the API scope in plain words')
  t.match(page.body, /agent\.example/, 'the redirect host')
  const approved = await postForm(ctx, jar, '/consent', {
    _csrf: hiddenField(page.body, '_csrf'),
    interaction: hiddenField(page.body, 'interaction'),
    decision: 'approve',
  })
  const code = new URL(approved.headers.location!).searchParams.get('code')!
  const tokens = (await redeem(ctx, rp, code, { code_verifier: verifier }, 'none')).json() as Tokens
  t.equal(claims(tokens.access_token)['aud'], PHOTOS)
  t.equal(claims(tokens.access_token)['scope'], 'photos:read')

  const firstPartyOnly = await authorize(ctx, jar, { ...base, scope: 'openid payroll:read', resource: PAYROLL }, user)
  t.equal(firstPartyOnly.location?.searchParams.get('error'), 'invalid_target', 'a first-party-only API is refused')
  t.equal(firstPartyOnly.location?.searchParams.get('state'), 's1')
})

t.test('RFC 7592 delete revokes what the client was given: tokens, refresh tokens, consents', async (t) => {
  const ctx = await app(t, { REGISTRATION: 'open' })
  const user = await ctx.addUser()
  const registered = (await register(ctx, { ...AGENT, grant_types: ['authorization_code', 'refresh_token'] })).json() as Record<
    string,
    unknown
  >
  const rp: RegisteredClient = { client: (await ctx.deps.clients.find(registered['client_id'] as string))!, secret: null }
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { response } = await authorize(
    ctx,
    jar,
    {
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: AGENT.redirect_uris[0]!,
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
    user,
  )
  const page = await getPage(ctx, jar, response.headers.location!)
  const approved = await postForm(ctx, jar, '/consent', {
    _csrf: hiddenField(page.body, '_csrf'),
    interaction: hiddenField(page.body, 'interaction'),
    decision: 'approve',
  })
  const code = new URL(approved.headers.location!).searchParams.get('code')!
  const tokens = (await redeem(ctx, rp, code, { code_verifier: verifier }, 'none')).json() as Tokens
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'before: the access token works')
  t.ok(tokens.refresh_token, 'and there is a refresh token')
  t.ok(await ctx.deps.repos.consents.find(user.id, rp.client.id), 'and a consent')

  const deleted = await ctx.app.inject({
    method: 'DELETE',
    url: new URL(registered['registration_client_uri'] as string).pathname,
    headers: { authorization: `Bearer ${registered['registration_access_token'] as string}` },
  })
  t.equal(deleted.statusCode, 204)
  const after = await userinfo(ctx, tokens.access_token)
  t.equal(after.statusCode, 401, 'after: /userinfo refuses its access token')
  t.match(after.headers['www-authenticate'], /invalid_token/)
  t.equal(await ctx.deps.repos.consents.find(user.id, rp.client.id), undefined, 'the consent is gone')
  const refreshed = await refresh(ctx, rp, tokens.refresh_token!)
  t.not(refreshed.statusCode, 200, 'the refresh token is dead')
})

t.test('authorization server metadata under every name clients try (RFC 8414 §3.1)', async (t) => {
  const ctx = await app(t, { ISSUER: 'https://id.example.com/tenant-a', REGISTRATION: 'open' })
  const paths = [
    '/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server',
    '/.well-known/oauth-authorization-server/tenant-a',
    '/.well-known/openid-configuration/tenant-a',
  ]
  for (const path of paths) {
    const response = await ctx.app.inject({ url: path })
    t.equal(response.statusCode, 200, path)
    t.match(
      response.json(),
      {
        issuer: 'https://id.example.com/tenant-a',
        registration_endpoint: 'https://id.example.com/tenant-a/register',
        code_challenge_methods_supported: ['S256'],
        client_id_metadata_document_supported: true,
      },
      path,
    )
  }
  t.equal(
    (await ctx.app.inject({ url: '/.well-known/oauth-authorization-server/other' })).statusCode,
    404,
    'another path is not this issuer',
  )
})
