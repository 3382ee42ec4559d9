import t from 'tap'
import { adminApiIdentifier, adminScopesOf, adminTokenScope, asksForAdminApi, refusedAdminScope } from '../../../src/oauth/admin-api.js'
import { clientCredentialsScope } from '../../../src/oauth/grants/client-credentials.js'
import { makeClient, oauthError } from '../fixtures/index.js'

const ISSUER = 'https://id.example.com'
const ADMIN = adminApiIdentifier(ISSUER)
const ops = makeClient({ registration: 'cli', scopes: ['openid', 'admin:read', 'admin:write'], grantTypes: ['client_credentials'] })
const reader = makeClient({ registration: 'cli', scopes: ['openid', 'admin:read', 'orders:read'] })

t.test('the admin API is ISSUER/admin/api', async (t) => {
  t.equal(ADMIN, 'https://id.example.com/admin/api')
  t.equal(adminApiIdentifier('https://example.com/idp'), 'https://example.com/idp/admin/api', 'under an issuer with a path')
})

t.test('only operator-registered clients hold admin scopes, whatever their scopes say', async (t) => {
  t.same(adminScopesOf(ops), ['admin:read', 'admin:write'])
  t.same(adminScopesOf({ ...ops, registration: 'dynamic' }), [])
  t.same(adminScopesOf({ ...ops, registration: 'metadata_document' }), [])
  t.equal(refusedAdminScope('dynamic', ['openid', 'admin:write']), 'admin:write')
  t.equal(refusedAdminScope('metadata_document', ['admin:read']), 'admin:read')
  t.equal(refusedAdminScope('dynamic', ['openid', 'profile']), null)
  t.equal(refusedAdminScope('cli', ['admin:read']), null)
})

t.test('which client_credentials requests are for the admin API', async (t) => {
  t.ok(asksForAdminApi(ADMIN, [ADMIN], undefined, []), 'resource names it')
  t.ok(asksForAdminApi(ADMIN, [], 'admin:read', []), 'an admin scope alone')
  t.ok(asksForAdminApi(ADMIN, [], 'admin:read orders:read', []), 'an admin scope with others (refused later)')
  t.ok(asksForAdminApi(ADMIN, [], undefined, ['admin:read', 'admin:write']), 'no scope, and the client has only admin scopes')
  t.notOk(asksForAdminApi(ADMIN, [], undefined, ['admin:read', 'orders:read']), 'no scope, and other service scopes too')
  t.notOk(asksForAdminApi(ADMIN, [], undefined, []), 'a client without service scopes')
  t.notOk(asksForAdminApi(ADMIN, [], 'orders:read', ['admin:read']), 'other scopes only')
  t.notOk(asksForAdminApi(ADMIN, ['https://api.example.com'], 'admin:read', []), 'another resource: that API decides')
})

t.test('the scope of an admin API token', async (t) => {
  t.equal(adminTokenScope(ops, [], 'admin:read'), 'admin:read')
  t.equal(adminTokenScope(ops, [ADMIN], undefined), 'admin:read admin:write', 'none asked: every admin scope the client has')
  t.equal(adminTokenScope(reader, [ADMIN], undefined), 'admin:read')
  t.throws(() => adminTokenScope(reader, [], 'admin:write'), oauthError('invalid_scope'), 'an admin scope the client lacks')
  t.throws(() => adminTokenScope(reader, [], 'admin:read orders:read'), oauthError('invalid_scope'), 'one audience per token')
  t.throws(() => adminTokenScope(ops, [ADMIN, 'https://api.example.com'], undefined), oauthError('invalid_target'))
  const dynamic = { ...ops, registration: 'dynamic' as const }
  t.throws(() => adminTokenScope(dynamic, [ADMIN], undefined), oauthError('invalid_target'), 'a self-registered client cannot name it')
  t.throws(() => adminTokenScope(dynamic, [], 'admin:read'), oauthError('invalid_scope'), 'nor ask for its scopes')
  const plain = makeClient({ registration: 'cli', scopes: ['openid', 'orders:read'] })
  t.throws(() => adminTokenScope(plain, [ADMIN], undefined), oauthError('invalid_target'), 'an operator client without admin scopes')
})

t.test('admin scopes never ride in tokens for other audiences', async (t) => {
  t.equal(clientCredentialsScope(reader, undefined), 'orders:read', 'none asked: the service scopes, less the admin ones')
  t.throws(() => clientCredentialsScope(reader, 'admin:read'), oauthError('invalid_scope'))
})
