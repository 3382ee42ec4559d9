import t from 'tap'
import {
  accessTokenClaims,
  accessTokenHash,
  idTokenClaims,
  scopedClaims,
  SUPPORTED_CLAIMS,
  userinfoClaims,
  withAccessTokenHash,
  type IdTokenInput,
  type Subject,
} from '../../../src/oauth/claims.js'

const NOW = 1_700_000_000
const user: Subject = { id: 'u-7f3a', email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace', roles: ['admin'] }
const idInput = (extra: Partial<IdTokenInput> = {}): IdTokenInput => ({
  issuer: 'https://idp.example',
  clientId: 'client-a',
  user,
  scope: 'openid',
  authTime: NOW - 120,
  nonce: null,
  now: NOW,
  ttl: 3600,
  amr: ['pwd'],
  ...extra,
})

t.test('idTokenClaims: required claims (OIDC Core §2), at_hash added with the access token', async (t) => {
  const claims = idTokenClaims(idInput())
  t.same(claims, {
    iss: 'https://idp.example',
    sub: 'u-7f3a',
    aud: 'client-a',
    azp: 'client-a',
    iat: NOW,
    exp: NOW + 3600,
    auth_time: NOW - 120,
    amr: ['pwd'],
    acr: 'urn:tessera:pwd',
  })
  // OIDC Core §3.1.3.6's example: this access token hashes to this at_hash.
  const bound = withAccessTokenHash(claims, 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y')
  t.same(bound, { ...claims, at_hash: '77QmUPtjPfzWtF2AnpK9RQ' })
  t.notOk('at_hash' in claims, 'the claims given are not changed')
})

t.test('accessTokenHash: the OIDC Core example (at_hash)', async (t) => {
  t.equal(accessTokenHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y'), '77QmUPtjPfzWtF2AnpK9RQ')
  t.equal(accessTokenHash('x').length, 22, '128 bits, base64url without padding')
})

t.test('amr and acr say how the user signed in (RFC 8176, OIDC Core §2)', async (t) => {
  t.match(idTokenClaims(idInput({ amr: ['pwd', 'otp', 'mfa'] })), { amr: ['pwd', 'otp', 'mfa'], acr: 'urn:tessera:mfa' })
  t.match(idTokenClaims(idInput({ amr: ['hwk', 'user'] })), { amr: ['hwk', 'user'], acr: 'phr' })
  const access = accessTokenClaims({
    issuer: 'https://idp.example',
    audience: 'https://api.example',
    clientId: 'c',
    subject: 'u',
    scope: 'openid',
    jti: 'j',
    authTime: NOW,
    now: NOW,
    ttl: 600,
    amr: ['swk', 'user'],
  })
  t.match(access, { amr: ['swk', 'user'], acr: 'phr' }, 'access tokens carry them too, so an API can ask for more (RFC 9470)')
  const service = accessTokenClaims({
    issuer: 'https://idp.example',
    audience: 'https://api.example',
    clientId: 'c',
    subject: 'c',
    scope: 'api',
    jti: 'j',
    authTime: null,
    now: NOW,
    ttl: 600,
  })
  t.notOk('amr' in service || 'acr' in service, 'a client acting for itself authenticated no user')
})

t.test('idTokenClaims: nonce only when one was sent, byte for byte', async (t) => {
  t.notOk('nonce' in idTokenClaims(idInput()), 'no nonce key at all')
  t.equal(idTokenClaims(idInput({ nonce: 'n-0S6_WzA2Mj' })).nonce, 'n-0S6_WzA2Mj')
  t.equal(idTokenClaims(idInput({ nonce: ' a+b/c é ' })).nonce, ' a+b/c é ')
  t.equal(idTokenClaims(idInput({ nonce: '' })).nonce, '', 'an empty nonce given is returned as given')
})

t.test('idTokenClaims: sid only when a session id is given', async (t) => {
  t.notOk('sid' in idTokenClaims(idInput()))
  t.equal(idTokenClaims(idInput({ sessionId: 'sess-1' })).sid, 'sess-1')
})

t.test('idTokenClaims: sub is the stable user id, never the email', async (t) => {
  const claims = idTokenClaims(idInput({ scope: 'openid email' }))
  t.equal(claims.sub, user.id)
  t.not(claims.sub, user.email)
})

t.test('idTokenClaims: identity claims follow the granted scope', async (t) => {
  const bare = idTokenClaims(idInput())
  for (const claim of ['name', 'email', 'email_verified']) t.notOk(claim in bare, `${claim} absent with scope openid`)
  const profile = idTokenClaims(idInput({ scope: 'openid profile' }))
  t.equal(profile.name, 'Ada Lovelace')
  t.notOk('email' in profile)
  const email = idTokenClaims(idInput({ scope: 'openid email' }))
  t.equal(email.email, 'ada@example.com')
  t.equal(email.email_verified, true)
  t.notOk('name' in email)
})

t.test('idTokenClaims: scope claims cannot overwrite protocol claims', async (t) => {
  const claims = idTokenClaims(idInput({ scope: 'openid profile email' }))
  t.equal(claims.iss, 'https://idp.example')
  t.equal(claims.sub, 'u-7f3a')
  t.equal(claims.aud, 'client-a')
})

t.test('accessTokenClaims (RFC 9068 §2.2)', async (t) => {
  const claims = accessTokenClaims({
    issuer: 'https://idp.example',
    audience: 'https://idp.example',
    clientId: 'client-a',
    subject: 'u-7f3a',
    scope: 'openid email',
    jti: 'jti-1',
    authTime: NOW - 60,
    now: NOW,
    ttl: 600,
  })
  t.same(claims, {
    iss: 'https://idp.example',
    sub: 'u-7f3a',
    aud: 'https://idp.example',
    client_id: 'client-a',
    scope: 'openid email',
    jti: 'jti-1',
    iat: NOW,
    exp: NOW + 600,
    auth_time: NOW - 60,
  })
  const machine = accessTokenClaims({
    issuer: 'https://idp.example',
    audience: 'api',
    clientId: 'svc',
    subject: 'svc',
    scope: '',
    jti: 'jti-2',
    authTime: null,
    now: NOW,
    ttl: 600,
  })
  t.notOk('auth_time' in machine, 'no auth_time without a user login')
  t.equal(machine.sub, 'svc')
  t.equal(machine.exp! - machine.iat!, 600)
  t.notOk('nonce' in machine || 'at_hash' in machine || 'azp' in machine, 'no ID-token-only claims')
})

t.test('userinfoClaims: sub plus claims of granted scopes only', async (t) => {
  t.same(userinfoClaims(user, 'openid'), { sub: 'u-7f3a' })
  t.same(userinfoClaims(user, 'openid profile'), { sub: 'u-7f3a', name: 'Ada Lovelace' })
  t.same(userinfoClaims(user, 'openid email'), { sub: 'u-7f3a', email: 'ada@example.com', email_verified: true })
  t.same(userinfoClaims(user, 'openid profile email offline_access'), {
    sub: 'u-7f3a',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    email_verified: true,
  })
  t.same(userinfoClaims(user, 'openid emails profiles'), { sub: 'u-7f3a' }, 'whole scope tokens only')
  t.same(userinfoClaims({ ...user, name: null }, 'openid profile'), { sub: 'u-7f3a' }, 'no name key when the user has none')
  t.same(userinfoClaims({ ...user, emailVerified: false }, 'openid email'), {
    sub: 'u-7f3a',
    email: 'ada@example.com',
    email_verified: false,
  })
})

t.test('scopedClaims never includes sub or secrets', async (t) => {
  const claims = scopedClaims(user, 'openid profile email')
  t.notOk('sub' in claims)
  t.same(Object.keys(claims).sort(), ['email', 'email_verified', 'name'])
})

t.test('SUPPORTED_CLAIMS covers every claim we emit', async (t) => {
  const id = idTokenClaims(idInput({ scope: 'openid profile email', nonce: 'n', sessionId: 's' }))
  for (const claim of Object.keys(id)) t.ok((SUPPORTED_CLAIMS as readonly string[]).includes(claim), claim)
})
