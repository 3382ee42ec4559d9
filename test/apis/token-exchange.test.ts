/**
 * RFC 8693 token exchange, delegation only: a web client gets a user's token for the Orders API;
 * the Orders service (allowed Orders and Inventory) exchanges it for an Inventory token whose
 * `act` names the service; a second service exchanges that one on (nested `act`). Scopes never
 * widen, targets must be registered and permitted, the subject token must be a live user token,
 * only confidential operator clients with the grant type may exchange, and revoking the user's
 * grant (or signing out) revokes the exchanged token. openid-client v6 and oauth4webapi v3 as the
 * clients at the end; a DPoP-bound subject token is exchanged without a proof of its key.
 */
import path from 'node:path'
import t from 'tap'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import * as oauth from 'oauth4webapi'
import * as oidc from 'openid-client'
import { registerApi } from '../../src/apis/registry.js'
import { runCli } from '../../src/cli/main.js'
import { TOKEN_EXCHANGE_GRANT } from '../../src/model/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { DpopKey } from '../helpers/dpop.js'
import {
  basic,
  claims,
  FORM,
  getPage,
  introspect,
  obtainCode,
  post,
  postForm,
  revoke,
  signIn,
  userinfo,
  type RegisteredClient,
  type Tokens,
} from '../helpers/client.js'
import { HttpBrowser, hiddenField } from '../helpers/http-client.js'

const ORDERS = 'https://orders.example/api'
const INVENTORY = 'https://inventory.example/api'
const BILLING = 'https://billing.example/api'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const USER_SCOPE = 'openid offline_access orders:read inventory:read'
const SUBJECT_REFUSED = /subject token is invalid or not acceptable/

async function registerApis(ctx: TestApp): Promise<void> {
  const now = ctx.clock.now()
  const apis = [
    { identifier: ORDERS, name: 'Orders', scopes: ['orders:read', 'orders:write', 'inventory:read'], accessTokenTtl: null },
    { identifier: INVENTORY, name: 'Inventory', scopes: ['inventory:read', 'inventory:write'], accessTokenTtl: 300 },
    { identifier: BILLING, name: 'Billing', scopes: ['inventory:read'], accessTokenTtl: null },
  ]
  for (const api of apis) await registerApi(ctx.deps.repos.apis, { ...api, firstPartyOnly: false }, now)
}

/** A service: confidential, token exchange only, no redirect URI, allowed these APIs. */
async function addService(ctx: TestApp, name: string, apis: readonly string[]): Promise<RegisteredClient> {
  const service = await ctx.addClient({ name, redirectUris: [], grantTypes: [TOKEN_EXCHANGE_GRANT] })
  await ctx.deps.repos.apis.allow(service.client.id, apis)
  return service
}

const exchange = (ctx: TestApp, as: RegisteredClient | null, subjectToken: string, extra: Record<string, string> = {}) =>
  post(ctx, '/token', as, {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN,
    resource: INVENTORY,
    ...extra,
  })

t.test('token exchange', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  await registerApis(ctx)
  const user = await ctx.addUser()
  const web = await ctx.addClient({ name: 'Shop', grantTypes: ['authorization_code', 'refresh_token'] })
  await ctx.deps.repos.apis.allow(web.client.id, [ORDERS])
  const orders = await addService(ctx, 'Orders service', [ORDERS, INVENTORY])
  const inventory = await addService(ctx, 'Inventory service', [INVENTORY, BILLING])
  // A resource server for every API of this test: it may introspect their tokens (RFC 7662 §4).
  const auditor = await ctx.addClient({
    name: 'Auditor',
    redirectUris: [],
    grantTypes: ['client_credentials'],
    introspect: true,
    introspectApis: [ORDERS, INVENTORY, BILLING],
  })

  /** The user signs in to the shop, which asks for a token for the Orders API. */
  const userToken = async (scope = USER_SCOPE) => (await signIn(ctx, web, user, { scope, params: { resource: ORDERS } })).tokens

  await t.test('the exchanged token: the target API, the user, the acting client in act', async (t) => {
    const subject = await userToken()
    const subjectClaims = claims(subject.access_token)
    t.equal(subjectClaims['aud'], ORDERS)
    t.equal(subjectClaims['scope'], 'orders:read inventory:read')
    const response = await exchange(ctx, orders, subject.access_token)
    t.equal(response.statusCode, 200, response.body)
    t.equal(response.headers['cache-control'], 'no-store')
    const body = response.json() as Tokens & { issued_token_type: string }
    t.equal(body.issued_token_type, ACCESS_TOKEN)
    t.equal(body.token_type, 'Bearer')
    t.equal(body.scope, 'inventory:read', 'the subject token’s scopes that the target API has')
    t.equal(body.expires_in, 300, 'the target API’s lifetime')
    t.equal(body.refresh_token, undefined, 'no refresh token')
    t.equal(body.id_token, undefined, 'no ID token')
    const issued = claims(body.access_token)
    t.equal(issued['aud'], INVENTORY)
    t.equal(issued['sub'], user.id, 'still the user')
    t.equal(issued['client_id'], orders.client.id, 'issued to the acting client')
    t.same(issued['act'], { sub: orders.client.id }, 'act names the acting client (delegation)')
    t.equal(issued['scope'], 'inventory:read')
    t.same(issued['amr'], subjectClaims['amr'], 'amr carried over')
    t.equal(issued['acr'], subjectClaims['acr'], 'acr carried over')
    t.equal(issued['auth_time'], subjectClaims['auth_time'], 'auth_time carried over')
    t.equal(issued['iss'], ctx.issuer)

    const seen = await introspect(ctx, auditor, body.access_token)
    t.equal(seen['active'], true)
    t.same(seen['act'], { sub: orders.client.id }, 'introspection shows act')
    t.equal(seen['aud'], INVENTORY)
    t.equal(seen['sub'], user.id)
    t.equal((await introspect(ctx, orders, body.access_token))['active'], true, 'the acting client may introspect its own token')

    const refused = await userinfo(ctx, body.access_token)
    t.equal(refused.statusCode, 401, 'userinfo refuses a token for another API')
    t.match(refused.headers['www-authenticate'], /invalid_token/)
  })

  await t.test('audience names the target API as well as resource does; both may name the same one', async (t) => {
    const subject = await userToken()
    const byAudience = await post(ctx, '/token', orders, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN,
      audience: INVENTORY,
      requested_token_type: ACCESS_TOKEN,
    })
    t.equal(byAudience.statusCode, 200, byAudience.body)
    t.equal(claims((byAudience.json() as Tokens).access_token)['aud'], INVENTORY)
    const both = await exchange(ctx, orders, subject.access_token, { audience: INVENTORY })
    t.equal(both.statusCode, 200, both.body)
  })

  await t.test('a second exchange nests the first actor (RFC 8693 §4.1)', async (t) => {
    const first = (await exchange(ctx, orders, (await userToken()).access_token)).json() as Tokens
    const second = await exchange(ctx, inventory, first.access_token, { resource: BILLING })
    t.equal(second.statusCode, 200, second.body)
    const issued = claims((second.json() as Tokens).access_token)
    t.equal(issued['aud'], BILLING)
    t.equal(issued['sub'], user.id)
    t.equal(issued['client_id'], inventory.client.id)
    t.same(issued['act'], { sub: inventory.client.id, act: { sub: orders.client.id } }, 'the current actor outermost')
    t.same((await introspect(ctx, auditor, (second.json() as Tokens).access_token))['act'], issued['act'])
  })

  await t.test('the client the token was issued to may exchange it too', async (t) => {
    const shop = await ctx.addClient({ name: 'Shop back end', grantTypes: ['authorization_code', TOKEN_EXCHANGE_GRANT] })
    await ctx.deps.repos.apis.allow(shop.client.id, [ORDERS, INVENTORY])
    const { tokens } = await signIn(ctx, shop, user, { scope: USER_SCOPE, params: { resource: ORDERS } })
    const response = await exchange(ctx, shop, tokens.access_token)
    t.equal(response.statusCode, 200, response.body)
    t.same(claims((response.json() as Tokens).access_token)['act'], { sub: shop.client.id })
  })

  await t.test('scopes: a narrower one is granted, a wider one is invalid_scope', async (t) => {
    const subject = await userToken()
    const narrow = await exchange(ctx, orders, subject.access_token, { scope: 'inventory:read' })
    t.equal(narrow.statusCode, 200, narrow.body)
    t.equal((narrow.json() as Tokens).scope, 'inventory:read')
    for (const [scope, why] of [
      ['inventory:read inventory:write', 'a scope of the API the subject token lacks'],
      ['inventory:write', 'only a scope the subject token lacks'],
      ['orders:read', 'a scope of the subject token the target API does not have'],
      ['openid', 'an OpenID scope'],
    ] as const) {
      const response = await exchange(ctx, orders, subject.access_token, { scope })
      t.equal(response.statusCode, 400, why)
      t.equal(response.json().error, 'invalid_scope', why)
    }
    const noOverlap = await userToken('openid orders:read')
    const empty = await exchange(ctx, orders, noOverlap.access_token)
    t.equal(empty.json().error, 'invalid_scope', 'nothing in common: no token')
  })

  await t.test('invalid_target: unknown, unpermitted, several or no API', async (t) => {
    const subject = await userToken()
    for (const [extra, why] of [
      [{ resource: 'https://unknown.example/api' }, 'not a registered API'],
      [{ resource: '', audience: 'unknown-api' }, 'an audience that is no API'],
      [{ resource: BILLING }, 'an API the acting client was not allowed'],
      [{ resource: INVENTORY, audience: ORDERS }, 'two APIs'],
      [{ resource: '' }, 'no API at all'],
      [{ resource: 'inventory' }, 'not an absolute URI'],
    ] as const) {
      const response = await exchange(ctx, orders, subject.access_token, extra)
      t.equal(response.statusCode, 400, why)
      t.equal(response.json().error, 'invalid_target', why)
    }
  })

  // RFC 8693 §2.2.2: an invalid or unacceptable subject token MUST be invalid_request.
  await t.test('invalid_request: the subject token is not a live user access token', async (t) => {
    const expectRefused = async (token: string, why: string, as: RegisteredClient = orders) => {
      const response = await exchange(ctx, as, token)
      t.equal(response.statusCode, 400, why)
      t.match(response.json(), { error: 'invalid_request', error_description: SUBJECT_REFUSED }, why)
    }
    const subject = await userToken()
    t.equal((await revoke(ctx, web, subject.access_token)).statusCode, 200)
    await expectRefused(subject.access_token, 'revoked by its client')

    await expectRefused((await userToken()).id_token!, 'an ID token')
    await expectRefused((await userToken()).refresh_token!, 'a refresh token')
    await expectRefused('not-a-token', 'garbage')

    const real = await userToken()
    const { privateKey } = await generateKeyPair('RS256')
    const [header] = real.access_token.split('.')
    const forged = await new SignJWT(claims(real.access_token))
      .setProtectedHeader(JSON.parse(Buffer.from(header!, 'base64url').toString()) as { alg: 'RS256'; kid: string; typ: string })
      .sign(privateKey)
    await expectRefused(forged, 'same claims and kid, signed by another key')
    const [h, , s] = real.access_token.split('.')
    const widened = Buffer.from(JSON.stringify({ ...claims(real.access_token), scope: 'inventory:write' })).toString('base64url')
    await expectRefused(`${h}.${widened}.${s}`, 'claims altered after signing')

    const machine = await ctx.addClient({ name: 'Batch', redirectUris: [], grantTypes: ['client_credentials'] })
    await ctx.deps.repos.apis.allow(machine.client.id, [ORDERS])
    const machineToken = await post(ctx, '/token', machine, { grant_type: 'client_credentials', resource: ORDERS })
    t.equal(claims((machineToken.json() as Tokens).access_token)['aud'], ORDERS)
    await expectRefused((machineToken.json() as Tokens).access_token, 'a client_credentials token: no user')

    const forTessera = await signIn(ctx, web, user, { scope: 'openid' })
    await expectRefused(forTessera.tokens.access_token, 'a token for Tessera, of another client: not the service’s to exchange')
    const stranger = await addService(ctx, 'Stranger', [INVENTORY])
    await expectRefused((await userToken()).access_token, 'a client not allowed the subject token’s API', stranger)

    const disabled = await ctx.addUser()
    const { tokens } = await signIn(ctx, web, disabled, { scope: USER_SCOPE, params: { resource: ORDERS } })
    await ctx.deps.repos.users.disable(disabled.id, ctx.clock.now())
    await expectRefused(tokens.access_token, 'its user was disabled')
  })

  await t.test('unauthorized_client: no grant type, a public client, a self-registered client', async (t) => {
    const subject = await userToken()
    const without = await exchange(ctx, web, subject.access_token)
    t.equal(without.statusCode, 400)
    t.equal(without.json().error, 'unauthorized_client', 'a client registered without the grant type')

    const registered = await addService(ctx, 'Public', [ORDERS, INVENTORY])
    const publicClient = { ...registered.client, id: `${registered.client.id}-public`, secretHash: null }
    await ctx.deps.repos.clients.insert(publicClient)
    await ctx.deps.repos.apis.allow(publicClient.id, [ORDERS, INVENTORY])
    const asPublic = await exchange(ctx, { client: publicClient, secret: null }, subject.access_token)
    t.equal(asPublic.json().error, 'unauthorized_client', 'a public client')

    const dynamic = { ...registered.client, id: `${registered.client.id}-dynamic`, registration: 'dynamic' as const }
    await ctx.deps.repos.clients.insert(dynamic)
    const asDynamic = await exchange(ctx, { client: dynamic, secret: registered.secret }, subject.access_token)
    t.equal(asDynamic.json().error, 'unauthorized_client', 'a self-registered client: no per-API permission')

    const anonymous = await exchange(ctx, null, subject.access_token)
    t.equal(anonymous.statusCode, 401, 'no client authentication')
    t.equal(anonymous.json().error, 'invalid_client')
  })

  await t.test('invalid_request: missing or unsupported parameters', async (t) => {
    const subject = (await userToken()).access_token
    for (const [params, why] of [
      [{ subject_token: '' }, 'no subject_token'],
      [{ subject_token_type: '' }, 'no subject_token_type'],
      [{ subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'an unsupported subject_token_type'],
      [{ subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'a refresh token type'],
      [{ actor_token: subject, actor_token_type: ACCESS_TOKEN }, 'an actor token'],
      [{ requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'a refresh token requested'],
      [{ requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'an ID token requested'],
    ] as const) {
      const response = await exchange(ctx, orders, subject, params)
      t.equal(response.statusCode, 400, why)
      t.equal(response.json().error, 'invalid_request', why)
    }
    const unsupportedType = await exchange(ctx, orders, subject, { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' })
    t.match(unsupportedType.json().error_description, /urn:ietf:params:oauth:token-type:access_token/, 'says what is supported')
    const twice = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token_type: ACCESS_TOKEN, resource: INVENTORY })
    twice.append('subject_token', subject)
    twice.append('subject_token', subject)
    const repeated = await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${orders.client.id}:${orders.secret}`).toString('base64')}`,
      },
      payload: twice.toString(),
    })
    t.equal(repeated.json().error, 'invalid_request', 'a repeated subject_token')
  })

  await t.test('revoking the user’s grant or signing out revokes the exchanged token', async (t) => {
    const subject = await userToken()
    const exchanged = ((await exchange(ctx, orders, subject.access_token)).json() as Tokens).access_token
    t.equal((await introspect(ctx, auditor, exchanged))['active'], true)
    t.equal((await revoke(ctx, web, subject.refresh_token!, { token_type_hint: 'refresh_token' })).statusCode, 200)
    t.same(await introspect(ctx, auditor, exchanged), { active: false }, 'the user’s grant was revoked')
    t.match(
      (await exchange(ctx, orders, subject.access_token)).json(),
      { error: 'invalid_request', error_description: SUBJECT_REFUSED },
      'and the subject token is dead',
    )

    const { tokens, jar } = await signIn(ctx, web, user, { scope: 'openid orders:read inventory:read', params: { resource: ORDERS } })
    const online = ((await exchange(ctx, orders, tokens.access_token)).json() as Tokens).access_token
    t.equal((await introspect(ctx, auditor, online))['active'], true)
    const confirm = await getPage(ctx, jar, '/logout')
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)![1]!
    t.equal((await postForm(ctx, jar, '/logout/confirm', { _csrf: csrf, decision: 'logout' })).statusCode, 200, 'signed out')
    t.same(await introspect(ctx, auditor, online), { active: false }, 'signing out revoked it')
  })

  await t.test('never outlives the subject token; an expired subject token is refused', async (t) => {
    const subject = await userToken()
    const exp = claims(subject.access_token)['exp'] as number
    ctx.clock.set(exp - 100)
    const response = await exchange(ctx, orders, subject.access_token)
    t.equal(response.statusCode, 200, response.body)
    t.equal((response.json() as Tokens).expires_in, 100, 'the subject token’s remaining life')
    const issued = claims((response.json() as Tokens).access_token)
    t.equal(issued['exp'], exp)
    ctx.clock.set(exp + 1)
    const late = await exchange(ctx, orders, subject.access_token)
    t.match(late.json(), { error: 'invalid_request', error_description: SUBJECT_REFUSED }, 'expired')
  })

  await t.test('idp clients add --grant-type …token-exchange: no redirect URI, confidential only', async (t) => {
    const idp = async (argv: string[]) => {
      const stdout: string[] = []
      const stderr: string[] = []
      const env = { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), LOG_LEVEL: 'silent' }
      const code = await runCli([...argv, '--json'], {
        env,
        stdout: (l) => stdout.push(l),
        stderr: (l) => stderr.push(l),
        readStdin: async () => '',
      })
      return { code, stderr: stderr.join('\n'), json: (stdout.length ? JSON.parse(stdout.at(-1)!) : {}) as Record<string, string> }
    }
    const added = await idp([
      'clients',
      'add',
      '--name',
      'CLI service',
      '--grant-type',
      TOKEN_EXCHANGE_GRANT,
      '--api',
      ORDERS,
      '--api',
      INVENTORY,
    ])
    t.equal(added.code, 0, added.stderr)
    t.ok(added.json['client_secret'], 'a confidential client')
    const client = await ctx.deps.repos.clients.find(added.json['client_id']!)
    t.same(client?.grantTypes, [TOKEN_EXCHANGE_GRANT])
    t.same(client?.redirectUris, [], 'no redirect URI needed')
    const response = await exchange(ctx, { client: client!, secret: added.json['client_secret']! }, (await userToken()).access_token)
    t.equal(response.statusCode, 200, response.body)
    const refused = await idp(['clients', 'add', '--name', 'Public', '--public', '--grant-type', TOKEN_EXCHANGE_GRANT])
    t.not(refused.code, 0, 'a public client cannot have the grant')
    t.match(refused.stderr, /public clients cannot exchange tokens/)
  })

  await t.test('each exchange is audited with actor, subject and target', async (t) => {
    const events = await ctx.deps.repos.auditEvents.list({ type: 'token_exchanged', limit: 50 })
    t.ok(events.length >= 5)
    const event = events.find((entry) => entry.clientId === orders.client.id)!
    t.equal(event.userId, user.id)
    t.match(event.detail, { subjectClientId: web.client.id, audience: INVENTORY })
    t.notMatch(JSON.stringify(events), /eyJ/, 'no token in the audit trail')
  })
})

t.test('openid-client v6 exchanges a token (genericGrantRequest)', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  await registerApis(ctx)
  const user = await ctx.addUser()
  const web = await ctx.addClient({ name: 'Shop', redirectUris: ['http://127.0.0.1/cb'], grantTypes: ['authorization_code'] })
  await ctx.deps.repos.apis.allow(web.client.id, [ORDERS])
  const orders = await addService(ctx, 'Orders service', [ORDERS, INVENTORY])
  const insecure = { execute: [oidc.allowInsecureRequests], timeout: 10 }
  const issuer = new URL(ctx.issuer)

  const shop = await oidc.discovery(issuer, web.client.id, web.secret!, undefined, insecure)
  const verifier = oidc.randomPKCECodeVerifier()
  const url = oidc.buildAuthorizationUrl(shop, {
    redirect_uri: 'http://127.0.0.1/cb',
    scope: USER_SCOPE,
    resource: ORDERS,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const browser = new HttpBrowser(ctx.issuer)
  const login = await browser.get((await browser.get(url.href)).location!)
  const callback = await browser.post('/login', {
    _csrf: hiddenField(login.body, '_csrf'),
    interaction: hiddenField(login.body, 'interaction'),
    email: user.email,
    password: user.password,
  })
  const subject = await oidc.authorizationCodeGrant(shop, new URL(callback.location!), {
    pkceCodeVerifier: verifier,
    idTokenExpected: true,
  })

  const service = await oidc.discovery(issuer, orders.client.id, orders.secret!, undefined, insecure)
  t.ok(service.serverMetadata().grant_types_supported?.includes(TOKEN_EXCHANGE_GRANT), 'discovery lists the grant')
  const exchanged = await oidc.genericGrantRequest(service, TOKEN_EXCHANGE_GRANT, {
    subject_token: subject.access_token,
    subject_token_type: ACCESS_TOKEN,
    resource: INVENTORY,
    scope: 'inventory:read',
  })
  t.equal(exchanged.issued_token_type, ACCESS_TOKEN)
  t.equal(exchanged.token_type, 'bearer')
  t.equal(exchanged.scope, 'inventory:read')
  const issued = claims(exchanged.access_token)
  t.equal(issued['aud'], INVENTORY)
  t.equal(issued['sub'], user.id)
  t.same(issued['act'], { sub: orders.client.id })

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => new Error('expected a failure'),
      (error: unknown) => error,
    )
  t.match(
    await failure(
      oidc.genericGrantRequest(service, TOKEN_EXCHANGE_GRANT, {
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN,
        resource: INVENTORY,
        scope: 'inventory:write',
      }),
    ),
    { status: 400, error: 'invalid_scope' },
    'a wider scope',
  )
  t.match(
    await failure(
      oidc.genericGrantRequest(service, TOKEN_EXCHANGE_GRANT, {
        subject_token: subject.id_token!,
        subject_token_type: ACCESS_TOKEN,
        resource: INVENTORY,
      }),
    ),
    { status: 400, error: 'invalid_request', error_description: SUBJECT_REFUSED },
    'an ID token as the subject token',
  )
  t.match(
    await failure(
      oidc.genericGrantRequest(service, TOKEN_EXCHANGE_GRANT, {
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN,
        resource: BILLING,
      }),
    ),
    { status: 400, error: 'invalid_target' },
    'an API the service was not allowed',
  )
  t.match(
    await failure(
      oidc.genericGrantRequest(shop, TOKEN_EXCHANGE_GRANT, {
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN,
        resource: INVENTORY,
      }),
    ),
    { status: 400, error: 'unauthorized_client' },
    'a client without the grant type',
  )
})

t.test('oauth4webapi v3 exchanges a token (genericTokenEndpointRequest), a DPoP-bound subject token too', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  await registerApis(ctx)
  const user = await ctx.addUser()
  const web = await ctx.addClient({ name: 'Shop', grantTypes: ['authorization_code'] })
  await ctx.deps.repos.apis.allow(web.client.id, [ORDERS])
  const orders = await addService(ctx, 'Orders service', [ORDERS, INVENTORY])
  const insecure = { [oauth.allowInsecureRequests]: true } as const
  const issuer = new URL(ctx.issuer)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
  t.ok(as.grant_types_supported?.includes(TOKEN_EXCHANGE_GRANT), 'discovery lists the grant')
  const service: oauth.Client = { client_id: orders.client.id }
  const serviceAuth = oauth.ClientSecretBasic(orders.secret!)
  const exchangeWith = async (subjectToken: string, scope: string, options: { DPoP?: oauth.DPoPHandle } = {}) =>
    oauth.processGenericTokenEndpointResponse(
      as,
      service,
      await oauth.genericTokenEndpointRequest(
        as,
        service,
        serviceAuth,
        TOKEN_EXCHANGE_GRANT,
        { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, resource: INVENTORY, scope },
        { ...insecure, ...options },
      ),
    )

  const { tokens: subject } = await signIn(ctx, web, user, { scope: USER_SCOPE, params: { resource: ORDERS } })
  const exchanged = await exchangeWith(subject.access_token, 'inventory:read')
  t.equal(exchanged['issued_token_type'], ACCESS_TOKEN)
  t.equal(exchanged.token_type, 'bearer')
  t.equal(exchanged.scope, 'inventory:read')
  t.notOk(exchanged.refresh_token, 'no refresh token')
  t.match(claims(exchanged.access_token), { aud: INVENTORY, sub: user.id, act: { sub: orders.client.id } })
  t.match(await exchangeWith(subject.access_token, 'inventory:write').catch((error: unknown) => error), {
    name: 'ResponseBodyError',
    status: 400,
    error: 'invalid_scope',
  })

  // The shop's token bound to the shop's DPoP key. The service holds the token, never that key
  // (it would have to be the shop to prove it), so the exchange does not ask for a proof of it:
  // the service authenticates as itself, and what it gets is bound to its own key if it sends a
  // proof (RFC 8693 §2.1 and RFC 9449 §5 both leave this to the server).
  const shopKey = await DpopKey.generate()
  const { code, verifier } = await obtainCode(ctx, web, user, { params: { scope: USER_SCOPE, resource: ORDERS } })
  const bound = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...FORM, authorization: basic(web.client.id, web.secret!), dpop: await shopKey.proof({ url: `${ctx.issuer}/token` }) },
    payload: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: web.client.redirectUris[0]!,
    }).toString(),
  })
  t.equal(bound.statusCode, 200, bound.body)
  const boundSubject = (bound.json() as Tokens).access_token
  t.same(claims(boundSubject)['cnf'], { jkt: shopKey.thumbprint }, 'the subject token is DPoP-bound to the shop’s key')
  const serviceKeys = await oauth.generateKeyPair('ES256')
  const serviceJkt = await calculateJwkThumbprint(await exportJWK(serviceKeys.publicKey))
  const rebound = await exchangeWith(boundSubject, 'inventory:read', { DPoP: oauth.DPoP(service, serviceKeys) })
  t.equal(rebound.token_type, 'dpop', 'exchanged without a proof of the shop’s key')
  t.same(claims(rebound.access_token)['cnf'], { jkt: serviceJkt }, 'the new token is bound to the service’s own key')
  t.same(claims(rebound.access_token)['act'], { sub: orders.client.id })
})
