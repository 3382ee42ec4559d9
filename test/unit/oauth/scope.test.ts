import t from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { oauthError } from '../fixtures/index.js'
import { checkScopesAllowed, formatScope, hasScope, parseScope, SUPPORTED_SCOPES } from '../../../src/oauth/scope.js'

t.test('parseScope', async (t) => {
  t.same(parseScope(undefined), [], 'absent scope')
  t.same(parseScope(''), [], 'empty scope counts as absent')
  t.same(parseScope('   '), [], 'only spaces count as absent')
  t.same(parseScope('openid'), ['openid'])
  t.same(parseScope('openid profile email'), ['openid', 'profile', 'email'], 'order kept')
  t.same(parseScope('openid  profile '), ['openid', 'profile'], 'repeated and trailing spaces ignored')
  t.same(parseScope('openid profile openid'), ['openid', 'profile'], 'duplicates kept once')
  t.same(parseScope('OpenID openid'), ['OpenID', 'openid'], 'case-sensitive (RFC 6749 §3.3)')
  t.same(parseScope('urn:example:read api://x/y'), ['urn:example:read', 'api://x/y'], 'any NQCHAR token')
})

t.test('parseScope refuses characters outside NQCHAR', async (t) => {
  for (const raw of ['openid\tprofile', 'openid\nprofile', 'open"id', 'open\\id', 'openid\u00e9', 'openid\u0000', 'openid\u007f']) {
    t.throws(() => parseScope(raw), oauthError('invalid_scope'), JSON.stringify(raw))
  }
})

t.test('checkScopesAllowed', async (t) => {
  t.doesNotThrow(() => checkScopesAllowed([], ['openid']))
  t.doesNotThrow(() => checkScopesAllowed(['openid', 'email'], ['openid', 'email', 'profile']))
  const error = t.throws(
    () => checkScopesAllowed(['openid', 'admin', 'email'], ['openid', 'profile']),
    oauthError('invalid_scope'),
  ) as OAuthError
  t.match(error.description, /admin/)
  t.match(error.description, /email/)
  t.throws(() => checkScopesAllowed(['OPENID'], ['openid']), oauthError('invalid_scope'), 'case-sensitive')
})

t.test('formatScope and hasScope', async (t) => {
  t.equal(formatScope(['openid', 'email']), 'openid email')
  t.equal(formatScope([]), '')
  t.ok(hasScope('openid email', 'email'))
  t.ok(hasScope('openid', 'openid'))
  t.notOk(hasScope('openid emails', 'email'), 'whole tokens only, no substring match')
  t.notOk(hasScope('openid profile_email', 'email'))
  t.notOk(hasScope('', 'openid'))
  t.notOk(hasScope('openid Email', 'email'))
})

t.test('SUPPORTED_SCOPES lists the OIDC scopes we serve', async (t) => {
  t.same([...SUPPORTED_SCOPES].sort(), ['email', 'offline_access', 'openid', 'profile', 'roles'])
})
