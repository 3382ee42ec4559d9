import t from 'tap'
import {
  clientApiScopes,
  mayUseApi,
  openIdScopesOnly,
  parseResources,
  resolveResources,
  scopeForApi,
  tokenResource,
} from '../../../src/oauth/resource.js'
import type { Api } from '../../../src/model/api.js'
import { oauthError } from '../fixtures/index.js'

const photos: Api = {
  identifier: 'https://api.example.com',
  name: 'Photos API',
  scopes: [
    { name: 'photos:read', description: 'See your photos' },
    { name: 'photos:write', description: 'Change your photos' },
  ],
  accessTokenTtl: null,
  firstPartyOnly: false,
  createdAt: 1,
}
const billing: Api = {
  ...photos,
  identifier: 'https://billing.example.com',
  name: 'Billing',
  scopes: [{ name: 'billing:read', description: 'x' }],
  firstPartyOnly: true,
}
const apis = new Map([photos, billing].map((api) => [api.identifier, api]))

t.test('parseResources: absolute URIs without fragment (RFC 8707 §2)', async (t) => {
  t.same(parseResources(undefined), [], 'absent')
  t.same(parseResources(''), [], 'empty counts as absent')
  t.same(parseResources('https://api.example.com'), ['https://api.example.com'])
  t.same(
    parseResources(['https://a.example', 'https://b.example', 'https://a.example']),
    ['https://a.example', 'https://b.example'],
    'repeated once',
  )
  t.same(parseResources('urn:example:api'), ['urn:example:api'], 'any absolute URI')
  for (const bad of ['/relative', 'api.example.com', 'https://api.example.com/#x', 'https://api.example.com#']) {
    t.throws(() => parseResources(bad), oauthError('invalid_target'), bad)
  }
  t.throws(() => parseResources(Array.from({ length: 11 }, (_, i) => `https://api${i}.example`)), oauthError('invalid_target'), 'too many')
})

t.test('mayUseApi: operator clients need the API allowed; self-described ones anything not first-party-only', async (t) => {
  t.equal(mayUseApi({ registration: 'cli' }, photos, new Set()), false, 'operator client, not allowed')
  t.equal(
    mayUseApi({ registration: 'cli' }, billing, new Set([billing.identifier])),
    true,
    'operator client, allowed, even first-party-only',
  )
  t.equal(mayUseApi({ registration: 'dynamic' }, photos, new Set()), true, 'dynamic client, open API')
  t.equal(mayUseApi({ registration: 'dynamic' }, billing, new Set([billing.identifier])), false, 'dynamic client, first-party-only API')
  t.equal(mayUseApi({ registration: 'metadata_document' }, billing, new Set()), false, 'metadata-document client, first-party-only API')
})

t.test('resolveResources: unknown or unpermitted resources are invalid_target', async (t) => {
  t.same(
    resolveResources([photos.identifier], apis, () => true).map((api) => api.name),
    ['Photos API'],
  )
  t.throws(() => resolveResources(['https://unknown.example'], apis, () => true), oauthError('invalid_target'), 'not registered')
  t.throws(() => resolveResources([billing.identifier], apis, (api) => !api.firstPartyOnly), oauthError('invalid_target'), 'not allowed')
})

t.test('scopeForApi and openIdScopesOnly: a token carries only its audience scopes', async (t) => {
  const granted = 'openid profile photos:read billing:read offline_access'
  t.equal(scopeForApi(granted, photos), 'photos:read')
  t.equal(scopeForApi(granted, billing), 'billing:read')
  t.equal(scopeForApi('openid', photos), '', 'none of its scopes granted')
  t.equal(openIdScopesOnly(granted), 'openid profile offline_access')
  t.equal(scopeForApi('photos:read photos:write', photos, ['photos:read']), 'photos:read', 'only the scopes still allowed')
  t.equal(scopeForApi('photos:read photos:write', photos, ['billing:read']), '', 'an allowed scope of another API is not this one')
})

t.test('clientApiScopes: the API scopes the client registration names, or all when it names none', async (t) => {
  const all = ['photos:read', 'photos:write']
  t.same(clientApiScopes(['openid', 'profile'], all), all, '--api alone: every scope of the API (backward compatible)')
  t.same(clientApiScopes([], all), all, 'no scopes at all')
  t.same(clientApiScopes(['openid', 'photos:read'], all), ['photos:read'], 'narrowed to the one it names')
  t.same(clientApiScopes(['photos:write', 'photos:read'], all), all, 'both named: both, in the API order')
  t.same(clientApiScopes(['reports', 'billing:read'], all), all, 'scopes of other APIs or its own do not narrow this one')
  t.same(clientApiScopes(['photos:read'], []), [], 'an API without scopes has none to give')
})

t.test('tokenResource: one audience per token, within what the grant covers (RFC 8707 §2.2)', async (t) => {
  t.equal(tokenResource([], []), null, 'no resources anywhere: Tessera itself')
  t.equal(tokenResource([photos.identifier], []), photos.identifier, 'the grant names one API')
  t.equal(tokenResource([photos.identifier, billing.identifier], []), null, 'several and none asked: Tessera itself')
  t.equal(tokenResource([photos.identifier, billing.identifier], [billing.identifier]), billing.identifier, 'downscoping to one')
  t.throws(() => tokenResource([photos.identifier], ['https://other.example']), oauthError('invalid_target'), 'outside the grant')
  t.throws(
    () => tokenResource([photos.identifier, billing.identifier], [photos.identifier, billing.identifier]),
    oauthError('invalid_target'),
    'two at once',
  )
})
