import t from 'tap'
import { accessTokenThumbprint, checkDpopBinding, checkProofClaims, DpopNonces, normalizeHtu } from '../../../src/oauth/dpop.js'
import { oauthError } from '../fixtures/index.js'

const NOW = 1_700_000_000
const expected = { method: 'POST', url: 'https://id.example.com/token', now: NOW, skew: 5 }
const claims = (extra: Record<string, unknown> = {}) => ({
  jti: 'j1',
  htm: 'POST',
  htu: 'https://id.example.com/token',
  iat: NOW,
  ...extra,
})

t.test('normalizeHtu: query and fragment dropped, scheme and host case-insensitive, default port implied (RFC 9449 §4.3)', async (t) => {
  t.equal(normalizeHtu('https://ID.example.com:443/token?x=1#f'), 'https://id.example.com/token')
  t.equal(normalizeHtu('HTTPS://id.example.com/token'), 'https://id.example.com/token')
  t.not(normalizeHtu('https://id.example.com/Token'), normalizeHtu('https://id.example.com/token'), 'the path is case-sensitive')
  t.equal(normalizeHtu('ftp://id.example.com/token'), null)
  t.equal(normalizeHtu('not a url'), null)
})

t.test('checkProofClaims: a proof for this request', async (t) => {
  t.same(checkProofClaims(claims(), expected), { jti: 'j1', iat: NOW })
  t.same(checkProofClaims(claims({ htu: 'https://id.example.com/token?ignored=1' }), expected).jti, 'j1', 'query ignored')
  t.same(checkProofClaims(claims({ iat: NOW - 60 - 5 }), expected).iat, NOW - 65, 'at the edge of the window')
})

t.test('checkProofClaims refuses proofs for other requests, times or tokens', async (t) => {
  const refused: [string, Record<string, unknown>, Partial<typeof expected> & { accessToken?: string }][] = [
    ['no jti', { jti: undefined }, {}],
    ['empty jti', { jti: '' }, {}],
    ['another method', { htm: 'GET' }, {}],
    ['another URL', { htu: 'https://id.example.com/userinfo' }, {}],
    ['another host', { htu: 'https://evil.example/token' }, {}],
    ['no iat', { iat: undefined }, {}],
    ['iat as text', { iat: String(NOW) }, {}],
    ['from the future', { iat: NOW + 6 }, {}],
    ['too old', { iat: NOW - 66 }, {}],
    ['no ath at a resource', {}, { accessToken: 'token-a' }],
    ['ath of another token', { ath: accessTokenThumbprint('token-b') }, { accessToken: 'token-a' }],
  ]
  for (const [what, extra, override] of refused) {
    t.throws(() => checkProofClaims(claims(extra), { ...expected, ...override }), oauthError('invalid_dpop_proof'), what)
  }
  t.doesNotThrow(
    () => checkProofClaims(claims({ ath: accessTokenThumbprint('token-a') }), { ...expected, accessToken: 'token-a' }),
    'the right ath',
  )
})

t.test('accessTokenThumbprint is base64url SHA-256 of the token (RFC 9449 §4.2 example)', async (t) => {
  t.equal(accessTokenThumbprint('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'), 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo')
})

t.test('checkDpopBinding: no proof is invalid_dpop_proof, another key invalid_grant', async (t) => {
  t.doesNotThrow(() => checkDpopBinding(null, null, 'x'), 'unbound')
  t.doesNotThrow(() => checkDpopBinding(null, 'k1', 'x'), 'unbound, proof given')
  t.doesNotThrow(() => checkDpopBinding('k1', 'k1', 'x'), 'same key')
  t.throws(() => checkDpopBinding('k1', null, 'x'), oauthError('invalid_dpop_proof'))
  t.throws(() => checkDpopBinding('k1', 'k2', 'x'), oauthError('invalid_grant'))
})

t.test('DpopNonces: valid for the minute it was made and two more, only under its key', async (t) => {
  const nonces = new DpopNonces(Buffer.alloc(32, 1))
  const nonce = nonces.issue(NOW)
  t.ok(nonces.isValid(nonce, NOW))
  t.ok(nonces.isValid(nonce, NOW + 120), 'two minutes on')
  t.notOk(nonces.isValid(nonce, NOW + 240), 'later: stale')
  t.notOk(nonces.isValid(nonces.issue(NOW + 600), NOW), 'from the future')
  t.notOk(new DpopNonces(Buffer.alloc(32, 2)).isValid(nonce, NOW), 'another key')
  for (const bad of [undefined, 42, '', 'abc', `${nonce}x`, `zzzzzzzzzzzzz.${nonce.split('.')[1]}`])
    t.notOk(nonces.isValid(bad, NOW), String(bad))
})
