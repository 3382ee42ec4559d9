import t from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import {
  authorizationResponseUrl,
  errorResponseUrl,
  identifyClient,
  requiresReauthentication,
  validateAuthorizationRequest,
  type RedirectTarget,
} from '../../../src/oauth/authorize-request.js'
import type { RawParams } from '../../../src/oauth/params.js'
import { makeAuthorizationRequest, makeClient, makePublicClient, oauthError, PKCE, unsafeAuthorizeError } from '../fixtures/index.js'
import { type AuthorizationRequest } from '../../../src/model/authorization-request.js'
import type { Client } from '../../../src/model/client.js'

const ISSUER = 'https://idp.example'
const REDIRECT = 'https://rp.example/callback'
const client = makeClient()
const find = (id: string): Client | undefined => (id === client.id ? client : undefined)
const target: RedirectTarget = { redirectUri: REDIRECT, state: 'xyz' }

const valid = (extra: RawParams = {}): RawParams => ({
  response_type: 'code',
  client_id: client.id,
  redirect_uri: REDIRECT,
  scope: 'openid',
  state: 'xyz',
  code_challenge: PKCE.challenge,
  code_challenge_method: 'S256',
  ...extra,
})
const validate = (params: RawParams, c: Client = client) => validateAuthorizationRequest(params, c, target)

t.test('identifyClient: known client and registered redirect_uri', async (t) => {
  const { client: found, target: got } = identifyClient(valid(), find)
  t.equal(found, client)
  t.same(got, { redirectUri: REDIRECT, state: 'xyz' })
  t.equal(identifyClient(valid({ state: undefined }), find).target.state, null, 'no state')
  t.equal(identifyClient(valid({ state: '' }), find).target.state, null, 'empty state counts as absent')
})

t.test('identifyClient: every failure is an UnsafeAuthorizeError (never redirected)', async (t) => {
  t.throws(() => identifyClient(valid({ client_id: undefined }), find), unsafeAuthorizeError('invalid_request'), 'missing client_id')
  t.throws(() => identifyClient(valid({ client_id: '' }), find), unsafeAuthorizeError('invalid_request'), 'empty client_id')
  t.throws(() => identifyClient(valid({ client_id: 'nobody' }), find), unsafeAuthorizeError('invalid_client'), 'unknown client')
  t.throws(() => identifyClient(valid({ redirect_uri: undefined }), find), unsafeAuthorizeError('invalid_request'), 'missing redirect_uri')
  t.throws(() => identifyClient(valid({ redirect_uri: '' }), find), unsafeAuthorizeError('invalid_request'), 'empty redirect_uri')
  t.throws(
    () => identifyClient(valid({ redirect_uri: 'https://evil.test/callback' }), find),
    unsafeAuthorizeError('invalid_request'),
    'unregistered redirect_uri',
  )
  t.throws(
    () => identifyClient(valid({ redirect_uri: `${REDIRECT}/` }), find),
    unsafeAuthorizeError('invalid_request'),
    'near-miss redirect_uri',
  )
  t.throws(
    () => identifyClient(valid({ client_id: [client.id, client.id] }), find),
    unsafeAuthorizeError('invalid_request'),
    'duplicated client_id',
  )
  t.throws(
    () => identifyClient(valid({ redirect_uri: [REDIRECT, 'https://evil.test/cb'] }), find),
    unsafeAuthorizeError('invalid_request'),
    'duplicated redirect_uri',
  )
  t.throws(
    () => identifyClient(valid({ redirect_uri: [REDIRECT, REDIRECT] }), find),
    unsafeAuthorizeError('invalid_request'),
    'duplicated identical redirect_uri',
  )
})

t.test('identifyClient: the unknown client is reported before the redirect_uri is looked at', async (t) => {
  t.throws(
    () => identifyClient(valid({ client_id: 'nobody', redirect_uri: 'https://evil.test' }), find),
    unsafeAuthorizeError('invalid_client'),
  )
})

t.test('validateAuthorizationRequest: a valid request', async (t) => {
  const request = validate(valid({ scope: 'openid email', nonce: 'n-0S6', login_hint: 'ada@example.com', max_age: '300', prompt: 'login' }))
  t.same(request, {
    clientId: client.id,
    redirectUri: REDIRECT,
    scope: 'openid email',
    state: 'xyz',
    nonce: 'n-0S6',
    codeChallenge: PKCE.challenge,
    prompt: ['login'],
    maxAge: 300,
    loginHint: 'ada@example.com',
    idTokenHint: null,
    acrValues: [],
    essentialAcr: null,
    resources: [],
    dpopJkt: null,
    uiLocales: null,
  })
  t.same(JSON.parse(JSON.stringify(request)), request, 'JSON-serialisable')
  t.equal(validate(valid({ ui_locales: 'de-AT fr' })).uiLocales, 'de-AT fr', 'ui_locales is kept as sent, for the pages')
  t.equal(validate(valid({ ui_locales: 'x'.repeat(500) })).uiLocales?.length, 200, 'and kept short')
})

t.test('validateAuthorizationRequest: response_type', async (t) => {
  t.throws(() => validate(valid({ response_type: undefined })), oauthError('invalid_request'), 'missing')
  t.throws(() => validate(valid({ response_type: '' })), oauthError('invalid_request'), 'empty')
  for (const other of ['token', 'id_token', 'code id_token', 'code token', 'CODE', 'none']) {
    t.throws(() => validate(valid({ response_type: other })), oauthError('unsupported_response_type'), other)
  }
  t.throws(() => validate(valid({ response_mode: 'fragment' })), oauthError('invalid_request'), 'response_mode=fragment')
  t.throws(() => validate(valid({ response_mode: 'form_post' })), oauthError('invalid_request'), 'response_mode=form_post')
  t.doesNotThrow(() => validate(valid({ response_mode: 'query' })))
})

t.test('validateAuthorizationRequest: a client without the code grant → unauthorized_client', async (t) => {
  t.throws(() => validate(valid(), makeClient({ grantTypes: ['client_credentials'] })), oauthError('unauthorized_client'))
})

t.test('validateAuthorizationRequest: request objects are not supported', async (t) => {
  t.throws(() => validate(valid({ request: 'eyJhbGciOiJub25lIn0.e30.' })), oauthError('request_not_supported'))
  t.throws(() => validate(valid({ request_uri: 'https://evil.test/request.jwt' })), oauthError('request_uri_not_supported'))
  t.throws(() => validate(valid({ request_uri: 'urn:ietf:params:oauth:request_uri:abc' })), oauthError('request_uri_not_supported'))
})

t.test('validateAuthorizationRequest: an empty request/request_uri counts as absent (RFC 6749 §3.1)', async (t) => {
  t.doesNotThrow(() => validate(valid({ request: '' })), 'request=')
  t.doesNotThrow(() => validate(valid({ request_uri: '' })), 'request_uri=')
})

t.test('validateAuthorizationRequest: duplicated parameters → invalid_request', async (t) => {
  for (const name of [
    'response_type',
    'scope',
    'state',
    'nonce',
    'prompt',
    'max_age',
    'code_challenge',
    'code_challenge_method',
    'login_hint',
  ]) {
    const base = valid()
    const value = typeof base[name] === 'string' ? (base[name] as string) : 'x'
    t.throws(() => validate({ ...base, [name]: [value, value] }), oauthError('invalid_request'), name)
  }
})

t.test('validateAuthorizationRequest: unknown parameters are ignored', async (t) => {
  t.doesNotThrow(() => validate(valid({ foo: 'bar', claims_locales: 'en' })))
})

t.test('validateAuthorizationRequest: scope', async (t) => {
  t.throws(() => validate(valid({ scope: undefined })), oauthError('invalid_scope'), 'missing scope')
  t.throws(() => validate(valid({ scope: 'profile email' })), oauthError('invalid_scope'), 'openid missing')
  t.throws(() => validate(valid({ scope: 'OpenID' })), oauthError('invalid_scope'), 'openid is case-sensitive')
  const narrow = makeClient({ scopes: ['openid', 'email'] })
  t.equal(validate(valid({ scope: 'openid profile email unknown_scope' }), narrow).scope, 'openid email', 'filtered to the client scopes')
  t.equal(validate(valid({ scope: 'email openid email' })).scope, 'email openid', 'duplicates dropped')
})

t.test('validateAuthorizationRequest: offline_access for third-party clients only with prompt=consent (OIDC Core §11)', async (t) => {
  const thirdParty = makeClient({ firstParty: false })
  t.equal(validate(valid({ scope: 'openid offline_access' }), thirdParty).scope, 'openid', 'dropped without prompt=consent')
  t.equal(validate(valid({ scope: 'openid offline_access', prompt: 'consent' }), thirdParty).scope, 'openid offline_access')
  t.equal(validate(valid({ scope: 'openid offline_access' })).scope, 'openid offline_access', 'first-party clients keep it')
})

t.test('validateAuthorizationRequest: prompt', async (t) => {
  t.same(validate(valid({ prompt: 'none' })).prompt, ['none'])
  t.same(validate(valid({ prompt: 'login consent' })).prompt, ['login', 'consent'])
  t.same(validate(valid()).prompt, [])
  t.throws(() => validate(valid({ prompt: 'none login' })), oauthError('invalid_request'), 'none with login')
  t.throws(() => validate(valid({ prompt: 'consent none' })), oauthError('invalid_request'), 'none with consent')
  t.throws(() => validate(valid({ prompt: 'bogus' })), oauthError('invalid_request'), 'unknown value')
  t.throws(() => validate(valid({ prompt: 'LOGIN' })), oauthError('invalid_request'), 'case-sensitive')
})

t.test('validateAuthorizationRequest: max_age', async (t) => {
  t.equal(validate(valid({ max_age: '0' })).maxAge, 0)
  t.equal(validate(valid({ max_age: '3600' })).maxAge, 3600)
  t.equal(validate(valid({ max_age: '' })).maxAge, null, 'empty counts as absent')
  t.equal(validate(valid()).maxAge, null)
  for (const bad of ['-1', '1.5', 'abc', '1e3', ' 10', '10 ', '+10', '0x10', '99999999999']) {
    t.throws(() => validate(valid({ max_age: bad })), oauthError('invalid_request'), JSON.stringify(bad))
  }
})

t.test('validateAuthorizationRequest: nonce, login_hint and id_token_hint', async (t) => {
  t.equal(validate(valid()).nonce, null, 'nonce is optional for the code flow')
  t.equal(validate(valid({ nonce: 'a b+c/é' })).nonce, 'a b+c/é', 'kept byte for byte')
  t.throws(() => validate(valid({ nonce: 'n'.repeat(513) })), oauthError('invalid_request'), 'oversized nonce')
  t.equal(validate(valid({ login_hint: 'x'.repeat(321) })).loginHint, null, 'oversized login_hint dropped')
  t.equal(validate(valid({ id_token_hint: 'a.b.c' })).idTokenHint, 'a.b.c')
})

t.test('validateAuthorizationRequest: PKCE', async (t) => {
  t.throws(
    () => validate(valid({ code_challenge: undefined, code_challenge_method: undefined })),
    oauthError('invalid_request'),
    'required by default',
  )
  t.throws(() => validate(valid({ code_challenge_method: 'plain' })), oauthError('invalid_request'), 'plain refused')
  t.throws(() => validate(valid({ code_challenge_method: undefined })), oauthError('invalid_request'), 'method missing')
  const relaxed = makeClient({ pkceRequired: false })
  t.equal(
    validate(valid({ code_challenge: undefined, code_challenge_method: undefined }), relaxed).codeChallenge,
    null,
    'optional for a relaxed confidential client',
  )
  t.equal(validate(valid(), relaxed).codeChallenge, PKCE.challenge, 'still used when sent')
  t.throws(
    () => validate(valid({ code_challenge_method: 'plain' }), relaxed),
    oauthError('invalid_request'),
    'plain refused even when optional',
  )
  const publicClient = makePublicClient({ pkceRequired: false })
  t.throws(
    () => validate(valid({ code_challenge: undefined, code_challenge_method: undefined }), publicClient),
    oauthError('invalid_request'),
    'always required for public clients',
  )
})

const request = (extra: Partial<AuthorizationRequest> = {}) =>
  makeAuthorizationRequest({ clientId: client.id, redirectUri: REDIRECT, ...extra })

t.test('requiresReauthentication', async (t) => {
  const now = 1_700_000_000
  t.notOk(requiresReauthentication(request(), now - 86_400, now), 'no prompt, no max_age')
  t.ok(requiresReauthentication(request({ prompt: ['login'] }), now, now), 'prompt=login, even for a fresh login')
  t.ok(requiresReauthentication(request({ maxAge: 0 }), now, now), 'max_age=0 acts like prompt=login')
  t.ok(requiresReauthentication(request({ maxAge: 300 }), now - 301, now), 'max_age exceeded')
  t.notOk(requiresReauthentication(request({ maxAge: 300 }), now - 300, now), 'exactly max_age: not exceeded')
  t.notOk(requiresReauthentication(request({ maxAge: 300 }), now - 10, now), 'within max_age')
  t.notOk(requiresReauthentication(request({ prompt: ['consent'] }), now - 10, now), 'prompt=consent alone')
})

t.test('authorizationResponseUrl keeps state byte-identical and adds iss', async (t) => {
  const states = ['xyz', 'a b', 'a+b', 'a/b?c=d&e=f#g', '%20%2B', 'é🙂 ünïcødé', ' leading and trailing ', '=&;']
  for (const state of states) {
    const url = new URL(authorizationResponseUrl({ redirectUri: REDIRECT, state }, ISSUER, { code: 'the-code' }))
    t.equal(url.searchParams.get('state'), state, JSON.stringify(state))
    t.equal(url.searchParams.get('code'), 'the-code')
    t.equal(url.searchParams.get('iss'), ISSUER)
    t.equal(`${url.origin}${url.pathname}`, REDIRECT)
    t.equal(url.hash, '')
  }
  const none = new URL(authorizationResponseUrl({ redirectUri: REDIRECT, state: null }, ISSUER, { code: 'c' }))
  t.notOk(none.searchParams.has('state'), 'no state when none was sent')
  t.equal(none.searchParams.get('iss'), ISSUER)
})

t.test('authorizationResponseUrl keeps the registered query and cannot be steered', async (t) => {
  const url = new URL(
    authorizationResponseUrl({ redirectUri: 'https://rp.example/cb?tenant=a', state: 's' }, ISSUER, {
      code: 'c',
      iss: 'https://evil.test',
      state: 'forged',
    }),
  )
  t.equal(url.searchParams.get('tenant'), 'a')
  t.equal(url.searchParams.get('iss'), ISSUER, 'iss always the configured issuer')
  t.equal(url.searchParams.get('state'), 's', 'state always the request state')
  t.same(url.searchParams.getAll('state'), ['s'])
  t.same(url.searchParams.getAll('iss'), [ISSUER])
  t.equal(url.host, 'rp.example')
})

t.test('errorResponseUrl carries error, description, state and iss', async (t) => {
  const url = new URL(
    errorResponseUrl({ redirectUri: REDIRECT, state: 'st ate/+' }, ISSUER, new OAuthError('login_required', 'the user must sign in')),
  )
  t.equal(url.searchParams.get('error'), 'login_required')
  t.equal(url.searchParams.get('error_description'), 'the user must sign in')
  t.equal(url.searchParams.get('state'), 'st ate/+')
  t.equal(url.searchParams.get('iss'), ISSUER)
  t.notOk(url.searchParams.has('code'))
})

t.test('validateAuthorizationRequest: acr_values and an essential acr in the claims parameter', async (t) => {
  t.same(validate(valid({ acr_values: 'phr urn:tessera:mfa' })).acrValues, ['phr', 'urn:tessera:mfa'], 'kept in order of preference')
  const essential = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:tessera:mfa'] } } })
  t.same(validate(valid({ claims: essential })).essentialAcr, ['urn:tessera:mfa'])
  t.same(validate(valid({ claims: JSON.stringify({ userinfo: { acr: { essential: true, value: 'phr' } } }) })).essentialAcr, ['phr'])
  t.equal(
    validate(valid({ claims: JSON.stringify({ id_token: { acr: { values: ['phr'] } } }) })).essentialAcr,
    null,
    'voluntary: no requirement',
  )
  t.equal(validate(valid({ claims: JSON.stringify({ id_token: { email: null } }) })).essentialAcr, null, 'other claims: by scope')
  for (const bad of ['{', '[]', '"x"', 'null']) t.throws(() => validate(valid({ claims: bad })), oauthError('invalid_request'), bad)
})

t.test('validateAuthorizationRequest: dpop_jkt is a SHA-256 JWK thumbprint (RFC 9449 §10)', async (t) => {
  const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
  t.equal(validate(valid({ dpop_jkt: jkt })).dpopJkt, jkt)
  for (const bad of ['short', `${jkt}=`, `${jkt.slice(0, 42)}!`])
    t.throws(() => validate(valid({ dpop_jkt: bad })), oauthError('invalid_request'), bad)
})
