import t from 'tap'
import { FakeClock } from '../../../helpers/clock.js'
import { checkCode } from '../../../../src/oauth/grants/authorization-code.js'
import { makeClient, oauthError, PKCE } from '../../fixtures/index.js'
import type { StoredCode } from '../../../../src/model/code.js'

const START = 1_700_000_000
const REDIRECT = 'https://rp.example/callback'
const client = makeClient()
const code = (extra: Partial<StoredCode> = {}): StoredCode => ({
  codeHash: 'hash',
  clientId: client.id,
  userId: 'user-1',
  sessionIdHash: 'sess',
  redirectUri: REDIRECT,
  scope: 'openid',
  nonce: null,
  codeChallenge: PKCE.challenge,
  authTime: START,
  createdAt: START,
  expiresAt: START + 60,
  consumedAt: null,
  grantId: null,
  amr: ['pwd'],
  resources: [],
  dpopJkt: null,
  ...extra,
})
const good = { redirectUri: REDIRECT, codeVerifier: PKCE.verifier }

t.test('a valid code is returned', async (t) => {
  const stored = code()
  t.equal(checkCode(stored, client, good, START + 1), stored)
  const plain = code({ codeChallenge: null })
  t.equal(checkCode(plain, client, { redirectUri: REDIRECT, codeVerifier: undefined }, START), plain, 'no PKCE used and none sent')
})

t.test('unknown code → invalid_grant', async (t) => {
  t.throws(() => checkCode(undefined, client, good, START), oauthError('invalid_grant'))
})

t.test('a code issued to another client → invalid_grant, even when it was already used', async (t) => {
  const other = makeClient({ id: 'client-b' })
  t.throws(() => checkCode(code(), other, good, START), oauthError('invalid_grant'))
  t.throws(
    () => checkCode(code({ consumedAt: START }), other, good, START),
    oauthError('invalid_grant'),
    'replay state not revealed to another client',
  )
  const error = t.throws(() => checkCode(code(), other, good, START)) as Error & { description: string }
  const unknown = t.throws(() => checkCode(undefined, other, good, START)) as Error & { description: string }
  t.equal(error.description, unknown.description, 'indistinguishable from an unknown code')
})

t.test('expiry, driven by a fake clock', async (t) => {
  const clock = new FakeClock(START)
  const stored = code()
  t.doesNotThrow(() => checkCode(stored, client, good, clock.now()))
  clock.advance(59)
  t.doesNotThrow(() => checkCode(stored, client, good, clock.now()), 'one second before expiry')
  clock.advance(1)
  t.throws(() => checkCode(stored, client, good, clock.now()), oauthError('invalid_grant'), 'at expires_at')
  clock.advance(3600)
  t.throws(() => checkCode(stored, client, good, clock.now()), oauthError('invalid_grant'), 'long after')
})

t.test('redirect_uri must equal the one authorized', async (t) => {
  t.throws(() => checkCode(code(), client, { ...good, redirectUri: undefined }, START), oauthError('invalid_grant'), 'missing')
  t.throws(() => checkCode(code(), client, { ...good, redirectUri: `${REDIRECT}/` }, START), oauthError('invalid_grant'), 'trailing slash')
  t.throws(
    () => checkCode(code(), client, { ...good, redirectUri: 'https://rp.example/other' }, START),
    oauthError('invalid_grant'),
    'another registered URI',
  )
  t.throws(
    () => checkCode(code(), client, { ...good, redirectUri: REDIRECT.toUpperCase() }, START),
    oauthError('invalid_grant'),
    'other case',
  )
})

t.test('PKCE at the token endpoint', async (t) => {
  t.throws(() => checkCode(code(), client, { ...good, codeVerifier: undefined }, START), oauthError('invalid_grant'), 'verifier missing')
  t.throws(() => checkCode(code(), client, { ...good, codeVerifier: 'a'.repeat(43) }, START), oauthError('invalid_grant'), 'wrong verifier')
  t.throws(() => checkCode(code(), client, { ...good, codeVerifier: 'short' }, START), oauthError('invalid_grant'), 'malformed verifier')
  t.throws(
    () => checkCode(code({ codeChallenge: null }), client, good, START),
    oauthError('invalid_grant'),
    'downgrade: verifier without a challenge',
  )
})

t.test('a consumed code of the right client is returned so the caller can treat the replay', async (t) => {
  const used = code({ consumedAt: START + 5, grantId: 'grant-1' })
  const returned = checkCode(used, client, { redirectUri: undefined, codeVerifier: undefined }, START + 3600)
  t.equal(returned.consumedAt, START + 5)
  t.equal(returned.grantId, 'grant-1')
})
