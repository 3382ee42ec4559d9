import t from 'tap'
import { buildClient, describeClient, InvalidClientMetadata, type NewClientRequest } from '../../../src/clients/registration.js'
import { secretMatches } from '../../../src/secrets.js'

const NOW = 1_700_000_000
const request = (extra: Partial<NewClientRequest> = {}): NewClientRequest => ({
  name: 'Example App',
  redirectUris: ['https://rp.example/callback'],
  postLogoutRedirectUris: [],
  isPublic: false,
  grantTypes: [],
  pkce: undefined,
  scopes: [],
  ...extra,
})

t.test('defaults for a confidential client', async (t) => {
  const { client, secret } = buildClient(request(), NOW)
  t.type(secret, 'string')
  t.ok(secret!.length >= 43, 'at least 256 bits')
  t.ok(secretMatches(secret!, client.secretHash!), 'stored hashed')
  t.not(client.secretHash, secret, 'never stored in clear')
  t.same(client.grantTypes, ['authorization_code', 'refresh_token'])
  t.equal(client.pkceRequired, true, 'PKCE required by default')
  t.same(client.scopes, ['openid', 'profile', 'email', 'roles', 'offline_access'])
  t.same(client.redirectUris, ['https://rp.example/callback'])
  t.equal(client.createdAt, NOW)
  t.equal(client.name, 'Example App')
  t.equal(client.firstParty, true)
  t.match(client.id, /^[A-Za-z0-9_-]{16,}$/)
  t.not(buildClient(request(), NOW).client.id, client.id, 'ids are random')
  t.not(buildClient(request(), NOW).secret, secret, 'secrets are random')
})

t.test('public clients get no secret and always require PKCE', async (t) => {
  const { client, secret } = buildClient(request({ isPublic: true }), NOW)
  t.equal(secret, null)
  t.equal(client.secretHash, null)
  t.equal(client.pkceRequired, true)
  t.equal(buildClient(request({ isPublic: true, pkce: 'required' }), NOW).client.pkceRequired, true)
  t.throws(() => buildClient(request({ isPublic: true, pkce: 'optional' }), NOW), InvalidClientMetadata, 'optional PKCE refused')
  t.throws(
    () => buildClient(request({ isPublic: true, grantTypes: ['client_credentials'] }), NOW),
    InvalidClientMetadata,
    'client_credentials refused',
  )
  t.equal(describeClient(client)['type'], 'public')
})

t.test('third-party clients', async (t) => {
  t.equal(buildClient(request({ thirdParty: true }), NOW).client.firstParty, false)
  t.equal(buildClient(request({ thirdParty: false }), NOW).client.firstParty, true)
})

t.test('a confidential client may relax PKCE', async (t) => {
  t.equal(buildClient(request({ pkce: 'optional' }), NOW).client.pkceRequired, false)
  t.equal(buildClient(request({ pkce: 'required' }), NOW).client.pkceRequired, true)
  t.throws(() => buildClient(request({ pkce: 'sometimes' }), NOW), InvalidClientMetadata)
})

t.test('grant types', async (t) => {
  t.same(
    buildClient(request({ grantTypes: ['client_credentials'], redirectUris: [] }), NOW).client.grantTypes,
    ['client_credentials'],
    'machine client without redirect URIs',
  )
  t.same(
    buildClient(request({ grantTypes: ['authorization_code', 'authorization_code'] }), NOW).client.grantTypes,
    ['authorization_code'],
    'duplicates removed',
  )
  t.same(
    buildClient(request({ grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], redirectUris: [], isPublic: true }), NOW).client
      .grantTypes,
    ['urn:ietf:params:oauth:grant-type:device_code'],
    'a device client (RFC 8628) needs no redirect URI',
  )
  for (const bad of ['password', 'implicit', 'token', 'urn:ietf:params:oauth:grant-type:saml2-bearer']) {
    t.throws(() => buildClient(request({ grantTypes: [bad] }), NOW), InvalidClientMetadata, bad)
  }
  t.throws(() => buildClient(request({ redirectUris: [] }), NOW), InvalidClientMetadata, 'authorization_code needs a redirect URI')
})

t.test('redirect URIs are validated (docs/security.md §A)', async (t) => {
  for (const bad of [
    'https://rp.example/cb#x',
    'https://*.rp.example/cb',
    '/relative',
    'JaVaScRiPt:alert(1)',
    'data:text/html,x',
    'http://rp.example/cb',
    'https://u:p@rp.example/cb',
  ]) {
    const error = t.throws(() => buildClient(request({ redirectUris: [bad] }), NOW), InvalidClientMetadata, bad) as InvalidClientMetadata
    t.equal(error.field, 'redirect_uris')
    t.equal(error.value, bad, 'names the refused URI')
  }
  t.throws(() => buildClient(request({ postLogoutRedirectUris: ['javascript:alert(1)'] }), NOW), {
    name: 'InvalidClientMetadata',
    field: 'post_logout_redirect_uris',
  })
  const { client } = buildClient(request({ redirectUris: ['http://127.0.0.1/cb', 'com.example.app:/cb', 'http://127.0.0.1/cb'] }), NOW)
  t.same(client.redirectUris, ['http://127.0.0.1/cb', 'com.example.app:/cb'], 'accepted and deduplicated')
})

t.test('name', async (t) => {
  t.equal(buildClient(request({ name: '  Trimmed  ' }), NOW).client.name, 'Trimmed')
  t.throws(() => buildClient(request({ name: '' }), NOW), InvalidClientMetadata)
  t.throws(() => buildClient(request({ name: '   ' }), NOW), InvalidClientMetadata)
  t.throws(() => buildClient(request({ name: 'x'.repeat(201) }), NOW), InvalidClientMetadata)
  t.doesNotThrow(() => buildClient(request({ name: 'x'.repeat(200) }), NOW))
})

t.test('scopes', async (t) => {
  t.same(buildClient(request({ scopes: ['email'] }), NOW).client.scopes, ['openid', 'email'], 'openid always included')
  t.same(
    buildClient(request({ scopes: ['openid profile', 'profile'] }), NOW).client.scopes,
    ['openid', 'profile'],
    'space-separated values split, duplicates removed',
  )
  t.same(buildClient(request({ scopes: ['api:read'] }), NOW).client.scopes, ['openid', 'api:read'], 'custom scopes allowed')
  t.throws(() => buildClient(request({ scopes: ['bad"scope'] }), NOW), InvalidClientMetadata)
  t.throws(() => buildClient(request({ scopes: ['bad\\scope'] }), NOW), InvalidClientMetadata)
})

t.test('describeClient never includes the secret or its hash', async (t) => {
  const { client, secret } = buildClient(request(), NOW)
  const described = JSON.stringify(describeClient(client))
  t.notOk(described.includes(secret!))
  t.notOk(described.includes(client.secretHash!))
  t.match(describeClient(client), {
    client_id: client.id,
    type: 'confidential',
    pkce: 'required',
    grant_types: ['authorization_code', 'refresh_token'],
  })
})
