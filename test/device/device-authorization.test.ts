/**
 * /device/authorization (RFC 8628 §3.1, §3.2) and device clients: the response, only hashes
 * stored, client authentication as at /token, unauthorized_client, scopes as /authorize decides
 * them, discovery, no CORS; `idp clients add --grant-type …device_code --public` needs no
 * redirect URI, and its client completes the flow.
 */
import path from 'node:path'
import t from 'tap'
import { FORM } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'
import { runCli } from '../../src/cli/main.js'
import { hashSecret } from '../../src/secrets.js'
import { pruneExpired } from '../../src/db/repositories/maintenance.js'
import { addDeviceClient, answer, DEVICE_CODE_GRANT, errorOf, poll, requestDevice, signedInBrowser, startDevice } from './support.js'

t.test('the device authorization response', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const response = await requestDevice(ctx, rp, { scope: 'openid profile' })
  t.equal(response.statusCode, 200, response.body)
  t.equal(response.headers['cache-control'], 'no-store')
  t.match(response.headers['content-type'], /^application\/json/)
  const body = response.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete'])
  t.match(body['device_code'], /^[A-Za-z0-9_-]{43,}$/, 'a device code of 256 bits')
  t.match(body['user_code'], /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, 'XXXX-XXXX from the consonant alphabet')
  t.equal(body['verification_uri'], `${ctx.issuer}/device`)
  t.equal(body['verification_uri_complete'], `${ctx.issuer}/device?user_code=${body['user_code'] as string}`)
  t.equal(body['expires_in'], 600)
  t.equal(body['interval'], 5)

  const rows = await ctx.deps.store.db.selectFrom('device_codes').selectAll().execute()
  t.equal(rows.length, 1)
  const stored = JSON.stringify(rows)
  t.notOk(stored.includes(body['device_code'] as string), 'the device code is not stored')
  t.notOk(stored.includes((body['user_code'] as string).replace('-', '')), 'the user code is not stored')
  t.equal(rows[0]!.device_code_hash, hashSecret(body['device_code'] as string), 'its hash is')
  t.equal(rows[0]!.scope, 'openid profile')

  const second = (await startDevice(ctx, rp)).user_code
  t.not(second, body['user_code'], 'every request gets its own codes')
})

t.test('errors at the device authorization endpoint', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx, { scopes: ['openid', 'profile'] })
  const webApp = await ctx.addClient({ isPublic: true })

  const notRegistered = await requestDevice(ctx, webApp)
  t.equal(notRegistered.statusCode, 400)
  t.equal(errorOf(notRegistered), 'unauthorized_client', 'a client without the device grant')

  const unknown = await requestDevice(ctx, { client: { ...rp.client, id: 'nobody' }, secret: null })
  t.equal(unknown.statusCode, 401)
  t.equal(errorOf(unknown), 'invalid_client')
  t.ok(unknown.headers['www-authenticate'], 'with WWW-Authenticate')
  t.equal(errorOf(await requestDevice(ctx, null)), 'invalid_client', 'no client at all')

  const confidential = await addDeviceClient(ctx, { isPublic: false, name: 'Set-top box' })
  t.equal((await requestDevice(ctx, confidential)).statusCode, 200, 'a confidential client with Basic')
  const wrong = await requestDevice(ctx, { client: confidential.client, secret: 'not-the-secret' })
  t.equal(wrong.statusCode, 401)
  t.equal(errorOf(wrong), 'invalid_client')
  const secretFromPublic = await requestDevice(ctx, null, { client_id: rp.client.id, client_secret: 'guess', scope: 'openid' })
  t.equal(errorOf(secretFromPublic), 'invalid_client', 'a public client sending a secret')

  t.equal(errorOf(await requestDevice(ctx, rp, { scope: 'profile' })), 'invalid_scope', 'openid is needed')
  t.equal(errorOf(await requestDevice(ctx, rp, {})), 'invalid_scope', 'no scope at all')
  const dropped = await startDevice(ctx, rp, 'openid profile email')
  const row = await ctx.deps.repos.deviceCodes.findByDeviceCode(hashSecret(dropped.device_code))
  t.equal(row?.scope, 'openid profile', 'scopes the client is not registered for are dropped')
  t.equal(errorOf(await requestDevice(ctx, rp, { scope: 'openid', resource: 'https://api.example/' })), 'invalid_target')

  const duplicated = await ctx.app.inject({
    method: 'POST',
    url: '/device/authorization',
    headers: FORM,
    payload: `client_id=${rp.client.id}&scope=openid&scope=profile`,
  })
  t.equal(errorOf(duplicated), 'invalid_request', 'a repeated parameter')
  const json = await ctx.app.inject({
    method: 'POST',
    url: '/device/authorization',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ client_id: rp.client.id, scope: 'openid' }),
  })
  t.equal(json.statusCode, 400)
  t.equal(errorOf(json), 'invalid_request', 'form bodies only')
  const get = await ctx.app.inject({ method: 'GET', url: `/device/authorization?client_id=${rp.client.id}` })
  t.equal(get.statusCode, 404, 'POST only')
})

t.test('discovery names the endpoint; no CORS for it', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  await ctx.addClient({ redirectUris: ['https://spa.example/callback'] })
  const doc = (await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
  t.equal(doc['device_authorization_endpoint'], `${ctx.issuer}/device/authorization`)
  t.ok((doc['grant_types_supported'] as string[]).includes(DEVICE_CODE_GRANT))
  const fromBrowser = await ctx.app.inject({
    method: 'POST',
    url: '/device/authorization',
    headers: { ...FORM, origin: 'https://spa.example' },
    payload: new URLSearchParams({ client_id: rp.client.id, scope: 'openid' }).toString(),
  })
  t.equal(fromBrowser.statusCode, 200)
  t.notOk(fromBrowser.headers['access-control-allow-origin'], 'no CORS even for a registered origin')
  const preflight = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/device/authorization',
    headers: { origin: 'https://spa.example', 'access-control-request-method': 'POST' },
  })
  t.notOk(preflight.headers['access-control-allow-origin'], 'no CORS preflight either')
})

t.test('expired device codes are pruned after the grace period', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  await startDevice(ctx, rp)
  ctx.clock.advance(600)
  const live = await startDevice(ctx, rp)
  t.equal((await pruneExpired(ctx.deps.store.db, ctx.clock.now(), 3600)).deviceCodes, 0, 'within the grace period it stays')
  ctx.clock.advance(3601)
  t.equal((await pruneExpired(ctx.deps.store.db, ctx.clock.now(), 3600)).deviceCodes, 1, 'then it goes')
  t.ok(await ctx.deps.repos.deviceCodes.findByDeviceCode(hashSecret(live.device_code)), 'the younger one stays')
})

t.test('idp clients add --grant-type …device_code --public: no redirect URI needed; the client works', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runCli(['clients', 'add', '--name', 'Terminal', '--grant-type', DEVICE_CODE_GRANT, '--public', '--json'], {
    env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), LOG_LEVEL: 'silent' },
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
    readStdin: async () => '',
  })
  t.equal(code, 0, stderr.join('\n'))
  const added = JSON.parse(stdout.at(-1)!) as Record<string, unknown>
  t.notOk('client_secret' in added, 'public: no secret')
  const clientId = added['client_id'] as string
  const client = await ctx.deps.repos.clients.find(clientId)
  t.same(client?.grantTypes, [DEVICE_CODE_GRANT])
  t.same(client?.redirectUris, [])

  const rp = { client: client!, secret: null }
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  await answer(browser, device.user_code, 'approve')
  const tokens = await poll(ctx, rp, device.device_code)
  t.equal(tokens.statusCode, 200, 'the CLI-registered client gets tokens')
  t.notOk((tokens.json() as Record<string, unknown>)['refresh_token'], 'without the refresh_token grant, no refresh token')

  const help: string[] = []
  await runCli(['clients', 'add', '--help'], {
    env: {},
    stdout: (line) => help.push(line),
    stderr: (line) => help.push(line),
    readStdin: async () => '',
  })
  t.match(help.join('\n'), /device_code/, 'the help names the device grant')
})

t.test('a per-address flood guard: public clients prove nothing and each request stores a row', async (t) => {
  const ctx = await createTestApp({ env: { DEVICE_AUTHORIZATION_RATE_LIMIT: '2' } })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  t.equal((await requestDevice(ctx, rp)).statusCode, 200)
  t.equal((await requestDevice(ctx, rp)).statusCode, 200)
  const third = await requestDevice(ctx, rp)
  t.equal(third.statusCode, 429)
  t.ok(Number(third.headers['retry-after']) > 0, 'Retry-After')
  t.match(third.json(), { error: 'temporarily_unavailable' })
})
