import t from 'tap'
import type { OAuthError } from '../../../src/errors/oauth-error.js'
import {
  ACCESS_TOKEN_TYPE,
  delegationChain,
  exchangedScope,
  exchangedTtl,
  exchangeTarget,
  MAX_ACTORS,
  mayExchange,
  readExchangeRequest,
} from '../../../src/oauth/grants/token-exchange.js'
import { parseClientMetadata } from '../../../src/oauth/client-metadata.js'
import { oauthError } from '../fixtures/index.js'

const NOW = 1_700_000_000
const API = 'https://inventory.example/api'
const base = { subject_token: 'eyJ.x.y', subject_token_type: ACCESS_TOKEN_TYPE }

t.test('readExchangeRequest: the RFC 8693 §2.1 parameters', async (t) => {
  t.same(readExchangeRequest({ ...base, resource: API, scope: 'orders:read' }), {
    subjectToken: 'eyJ.x.y',
    targets: [API],
    scope: 'orders:read',
  })
  t.same(readExchangeRequest({ ...base, audience: API, resource: API }).targets, [API], 'resource and audience naming the same API')
  t.same(readExchangeRequest({ ...base, audience: [API, 'https://b.example'] }).targets, [API, 'https://b.example'])
  t.same(readExchangeRequest({ ...base, requested_token_type: ACCESS_TOKEN_TYPE }).targets, [], 'access_token may be requested')
  t.equal(readExchangeRequest(base).scope, undefined)
})

t.test('readExchangeRequest: missing or unsupported parameters → invalid_request', async (t) => {
  for (const [params, why, mention] of [
    [{ subject_token_type: ACCESS_TOKEN_TYPE }, 'no subject_token', /subject_token/],
    [{ ...base, subject_token: '' }, 'an empty subject_token', /subject_token/],
    [{ subject_token: 'x' }, 'no subject_token_type', /subject_token_type/],
    [{ ...base, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'an ID token', /access_token/],
    [{ ...base, subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'a refresh token', /access_token/],
    [{ ...base, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 'a generic JWT', /access_token/],
    [{ ...base, actor_token: 'a', actor_token_type: ACCESS_TOKEN_TYPE }, 'an actor token', /actor_token/],
    [{ ...base, actor_token_type: ACCESS_TOKEN_TYPE }, 'an actor_token_type alone', /actor_token/],
    [{ ...base, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'a refresh token requested', /access_token/],
    [{ ...base, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'an ID token requested', /access_token/],
  ] as const) {
    const error = t.throws(() => readExchangeRequest(params), oauthError('invalid_request'), why) as OAuthError
    t.match(error.description, mention, `${why}: the description says what is expected`)
  }
})

t.test('readExchangeRequest: malformed resources and too many audiences → invalid_target', async (t) => {
  t.throws(() => readExchangeRequest({ ...base, resource: 'not a uri' }), oauthError('invalid_target'))
  t.throws(() => readExchangeRequest({ ...base, resource: `${API}#x` }), oauthError('invalid_target'))
  const many = Array.from({ length: 11 }, (_, index) => `https://api${index}.example`)
  t.throws(() => readExchangeRequest({ ...base, audience: many }), oauthError('invalid_target'))
})

t.test('exchangeTarget: exactly one API', async (t) => {
  t.equal(exchangeTarget([API]), API)
  t.throws(() => exchangeTarget([]), oauthError('invalid_target'), 'none')
  t.throws(() => exchangeTarget([API, 'https://b.example']), oauthError('invalid_target'), 'two')
})

t.test('mayExchange: the client the token was issued to, or one allowed its API', async (t) => {
  const subject = { clientId: 'web', audience: 'https://orders.example' }
  t.ok(mayExchange('web', subject, new Set()), 'the token’s own client')
  t.ok(mayExchange('orders-service', subject, new Set(['https://orders.example'])), 'a client allowed the token’s API')
  t.notOk(mayExchange('other', subject, new Set([API])), 'a client allowed other APIs only')
  t.notOk(mayExchange('other', { clientId: 'web', audience: 'http://localhost:3000' }, new Set()), 'a token for Tessera, another client')
})

t.test('exchangedScope: within the subject token’s scopes and the target API’s', async (t) => {
  const apiScopes = ['orders:read', 'inventory:read', 'inventory:write']
  t.equal(exchangedScope('orders:read orders:write', apiScopes, undefined), 'orders:read', 'none asked: the intersection')
  t.equal(exchangedScope('orders:read inventory:read', apiScopes, 'inventory:read'), 'inventory:read', 'narrower')
  t.throws(() => exchangedScope('orders:read', apiScopes, 'orders:read inventory:write'), oauthError('invalid_scope'), 'wider')
  t.throws(() => exchangedScope('orders:write', apiScopes, 'orders:write'), oauthError('invalid_scope'), 'not the API’s')
  t.throws(() => exchangedScope('openid email', apiScopes, undefined), oauthError('invalid_scope'), 'an empty intersection')
  t.throws(() => exchangedScope('orders:read', apiScopes, 'bad"scope'), oauthError('invalid_scope'), 'malformed')
  t.equal(exchangedScope('orders:read', apiScopes, ' orders:read  orders:read '), 'orders:read', 'duplicates and spaces')
})

t.test('exchangedTtl: never beyond the subject token', async (t) => {
  t.equal(exchangedTtl(600, NOW + 3600, NOW), 600)
  t.equal(exchangedTtl(600, NOW + 30, NOW), 30)
  t.throws(() => exchangedTtl(600, NOW, NOW), oauthError('invalid_request'))
})

t.test('delegationChain: RFC 8693 §4.1 nested actors', async (t) => {
  t.same(delegationChain('svc', undefined), { sub: 'svc' })
  t.same(delegationChain('svc-b', { sub: 'svc-a' }), { sub: 'svc-b', act: { sub: 'svc-a' } })
  t.same(delegationChain('c', { sub: 'b', act: { sub: 'a' }, iss: 'ignored' }), { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } })
  for (const bad of [null, 'svc', ['svc'], {}, { sub: '' }, { sub: 1 }, { sub: 'b', act: 'a' }]) {
    t.throws(() => delegationChain('c', bad), oauthError('invalid_request'), JSON.stringify(bad))
  }
  let chain: unknown = { sub: 'a0' }
  for (let index = 1; index < MAX_ACTORS; index++) chain = { sub: `a${index}`, act: chain }
  t.doesNotThrow(() => delegationChain('next', chain), `${MAX_ACTORS} earlier actors`)
  t.throws(() => delegationChain('next', { sub: 'one-more', act: chain }), oauthError('invalid_request'), 'one more is too many')
})

t.test('self-described clients cannot register for token exchange (no per-API permission)', async (t) => {
  const metadata = { client_name: 'Agent', grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'], jwks: null }
  for (const kind of ['dynamic', 'metadata_document'] as const) {
    const error = t.throws(() => parseClientMetadata(metadata, kind), oauthError('invalid_client_metadata'), kind) as OAuthError
    t.match(error.description, /operator-registered/)
  }
})
