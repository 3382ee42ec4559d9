import t from 'tap'
import {
  claimMapping,
  connectionForEmail,
  connectionId,
  emailDomain,
  emailVerifiedHere,
  upstreamAmr,
  upstreamProfile,
  upstreamUrl,
} from '../../../src/oauth/upstream.js'

const LOCAL = 'http://localhost:3000'
const PUBLIC = 'https://idp.example.com'

t.test('upstreamUrl: https anywhere; http only on loopback under a loopback issuer', async (t) => {
  t.equal(upstreamUrl('https://login.example.com', '--issuer', PUBLIC), 'https://login.example.com/')
  t.equal(upstreamUrl('http://127.0.0.1:9000/x', '--issuer', LOCAL), 'http://127.0.0.1:9000/x')
  t.equal(upstreamUrl('http://localhost:9000', '--issuer', 'http://127.0.0.1:3000'), 'http://localhost:9000/')
  for (const [raw, issuer, message] of [
    ['http://127.0.0.1:9000', PUBLIC, /must be https/],
    ['http://login.example.com', LOCAL, /must be https/],
    ['http://localhost.evil.test', LOCAL, /must be https/],
    ['ftp://login.example.com', PUBLIC, /must be https/],
    ['login.example.com', PUBLIC, /is not a URL/],
    ['https://user:pw@login.example.com', PUBLIC, /credentials or a fragment/],
    ['https://login.example.com/#x', PUBLIC, /credentials or a fragment/],
  ] as const) {
    t.throws(() => upstreamUrl(raw, '--issuer', issuer), { name: 'ConnectionProblem', message }, raw)
  }
})

t.test('connectionId: a slug of the name', async (t) => {
  t.equal(connectionId('Company SSO'), 'company-sso')
  t.equal(connectionId('  GitHub!! '), 'github')
  t.equal(connectionId('Ünïcode Ïdp'), 'unicode-idp')
  t.equal(connectionId('x'.repeat(60)).length, 40)
  t.throws(() => connectionId('!!!'), { name: 'ConnectionProblem' })
})

t.test('emailDomain and connectionForEmail: home-realm discovery by exact domain', async (t) => {
  t.equal(emailDomain('Example.COM.'), 'example.com')
  for (const bad of ['example', '*.example.com', 'exa mple.com', '-x.com', 'a..com', ''])
    t.throws(() => emailDomain(bad), { name: 'ConnectionProblem' }, bad)
  const corp = { id: 'corp', domains: ['corp.test'], disabledAt: null }
  const off = { id: 'off', domains: ['off.test'], disabledAt: 1 }
  t.equal(connectionForEmail([corp, off], 'ann@corp.test'), corp)
  t.equal(connectionForEmail([corp, off], 'ann@sub.corp.test'), undefined, 'subdomains are not the domain')
  t.equal(connectionForEmail([corp, off], 'ann@off.test'), undefined, 'disabled connections do not take sign-ins')
  t.equal(connectionForEmail([corp], 'no-at-sign'), undefined)
})

t.test('claimMapping: defaults, overrides, and refusals', async (t) => {
  t.same(claimMapping([]), { sub: 'id', email: 'email', name: 'name' })
  t.same(claimMapping(['sub=login', 'email_verified=verified']), { sub: 'login', email: 'email', name: 'name', email_verified: 'verified' })
  for (const bad of ['sub', 'sub=', 'sub=a=b', 'roles=groups']) t.throws(() => claimMapping([bad]), { name: 'ConnectionProblem' }, bad)
})

t.test('upstreamProfile: OpenID claims, userinfo for what the ID token left out, sub only from the ID token', async (t) => {
  const profile = upstreamProfile(
    'oidc',
    { sub: 'abc', amr: ['pwd', 'bogus', 'pwd'] },
    { sub: 'other', email: 'a@x.test', email_verified: true, name: 'A' },
    {},
  )
  t.same(profile, { subject: 'abc', email: 'a@x.test', emailVerified: true, name: 'A', amr: ['pwd'] })
  t.equal(upstreamProfile('oidc', { sub: '' }, {}, {}), null, 'an empty subject')
  t.equal(upstreamProfile('oidc', { sub: 'x'.repeat(256) }, {}, {}), null, 'an absurd subject')
  t.equal(upstreamProfile('oidc', { sub: 'a', email_verified: 'true' }, {}, {})?.emailVerified, false, 'only the boolean true verifies')
})

t.test('upstreamProfile: an OAuth 2.0 user document through the mapping', async (t) => {
  const mapping = claimMapping([])
  t.same(upstreamProfile('oauth2', { id: 4242, login: 'octo', name: 'Octo', email: 'o@gh.test' }, {}, mapping), {
    subject: '4242',
    email: 'o@gh.test',
    emailVerified: true,
    name: 'Octo',
    amr: [],
  })
  t.equal(upstreamProfile('oauth2', { id: 1.5 }, {}, mapping), null, 'a fractional id')
  const withFlag = claimMapping(['email_verified=verified'])
  t.equal(upstreamProfile('oauth2', { id: 1, email: 'e@x.test', verified: false }, {}, withFlag)?.emailVerified, false)
})

t.test('emailVerifiedHere: only a trusted connection passes verification on', async (t) => {
  const verified = { subject: 's', email: 'e@x.test', emailVerified: true, name: null, amr: [] }
  t.equal(emailVerifiedHere({ trustEmail: true }, verified), true)
  t.equal(emailVerifiedHere({ trustEmail: false }, verified), false)
  t.equal(emailVerifiedHere({ trustEmail: true }, { ...verified, emailVerified: false }), false)
  t.equal(emailVerifiedHere({ trustEmail: true }, { ...verified, email: null }), false)
  t.same(upstreamAmr('pwd'), [])
})
