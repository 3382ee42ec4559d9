import t from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { oauthError } from '../fixtures/index.js'
import { checkCodeChallenge, s256, verifyCodeVerifier } from '../../../src/oauth/pkce.js'

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

t.test('s256 matches the RFC 7636 Appendix B vector', async (t) => {
  t.equal(s256(VERIFIER), CHALLENGE)
})

t.test('checkCodeChallenge', async (t) => {
  t.test('accepts a well-formed S256 challenge', async (t) => {
    t.equal(checkCodeChallenge(CHALLENGE, 'S256', true), CHALLENGE)
    t.equal(checkCodeChallenge(CHALLENGE, 'S256', false), CHALLENGE, 'a challenge is kept even when not required')
  })

  t.test('refuses the plain method, even with a valid-looking challenge', async (t) => {
    t.throws(() => checkCodeChallenge(CHALLENGE, 'plain', false), oauthError('invalid_request'))
    t.throws(() => checkCodeChallenge(VERIFIER, 'plain', true), oauthError('invalid_request'))
  })

  t.test('method names are case-sensitive', async (t) => {
    t.throws(() => checkCodeChallenge(CHALLENGE, 's256', true), oauthError('invalid_request'))
    t.throws(() => checkCodeChallenge(CHALLENGE, 'SHA256', true), oauthError('invalid_request'))
  })

  t.test('refuses a challenge without a method (the RFC default would be plain)', async (t) => {
    t.throws(() => checkCodeChallenge(CHALLENGE, undefined, false), oauthError('invalid_request'))
    t.throws(() => checkCodeChallenge(CHALLENGE, undefined, true), oauthError('invalid_request'))
  })

  t.test('refuses a method without a challenge', async (t) => {
    t.throws(() => checkCodeChallenge(undefined, 'S256', false), oauthError('invalid_request'))
  })

  t.test('refuses malformed challenges (not 43 base64url characters)', async (t) => {
    const malformed = [
      CHALLENGE.slice(0, 42),
      CHALLENGE + 'A',
      CHALLENGE.slice(0, 42) + '=',
      CHALLENGE.slice(0, 42) + '+',
      CHALLENGE.slice(0, 42) + '/',
      CHALLENGE.slice(0, 42) + ' ',
      CHALLENGE.slice(0, 42) + '.',
      'short',
      'x'.repeat(128),
    ]
    for (const challenge of malformed) {
      t.throws(() => checkCodeChallenge(challenge, 'S256', false), oauthError('invalid_request'), JSON.stringify(challenge))
    }
  })

  t.test('required: no challenge → invalid_request; not required: null', async (t) => {
    t.throws(() => checkCodeChallenge(undefined, undefined, true), oauthError('invalid_request'))
    t.equal(checkCodeChallenge(undefined, undefined, false), null)
  })

  t.test('errors are OAuthErrors with status 400', async (t) => {
    const error = t.throws(() => checkCodeChallenge(CHALLENGE, 'plain', true)) as OAuthError
    t.type(error, OAuthError)
    t.equal(error.status, 400)
  })
})

t.test('verifyCodeVerifier', async (t) => {
  t.test('accepts the matching verifier', async (t) => {
    t.doesNotThrow(() => verifyCodeVerifier(CHALLENGE, VERIFIER))
  })

  t.test('no challenge and no verifier: nothing to check', async (t) => {
    t.doesNotThrow(() => verifyCodeVerifier(null, undefined))
  })

  t.test('challenge sent but verifier missing → invalid_grant', async (t) => {
    t.throws(() => verifyCodeVerifier(CHALLENGE, undefined), oauthError('invalid_grant'))
  })

  t.test('downgrade: no challenge at /authorize but a verifier at /token → invalid_grant', async (t) => {
    t.throws(() => verifyCodeVerifier(null, VERIFIER), oauthError('invalid_grant'))
  })

  t.test('a wrong verifier → invalid_grant', async (t) => {
    const other = VERIFIER.slice(0, -1) + (VERIFIER.endsWith('k') ? 'j' : 'k')
    t.throws(() => verifyCodeVerifier(CHALLENGE, other), oauthError('invalid_grant'))
    t.throws(() => verifyCodeVerifier(CHALLENGE, 'a'.repeat(43)), oauthError('invalid_grant'))
  })

  t.test('the challenge itself is not accepted as a verifier (plain semantics)', async (t) => {
    t.throws(() => verifyCodeVerifier(CHALLENGE, CHALLENGE), oauthError('invalid_grant'))
  })

  t.test('malformed verifiers → invalid_grant', async (t) => {
    const malformed = [
      'a'.repeat(42),
      'a'.repeat(129),
      VERIFIER.slice(0, 42) + '+',
      VERIFIER.slice(0, 42) + '/',
      VERIFIER + ' ',
      VERIFIER + '=',
    ]
    for (const verifier of malformed) {
      t.throws(() => verifyCodeVerifier(CHALLENGE, verifier), oauthError('invalid_grant'), JSON.stringify(verifier))
    }
  })

  t.test('verifier bounds: 43 and 128 characters from the unreserved set are well-formed', async (t) => {
    for (const verifier of ['a'.repeat(43), 'A0._~-'.repeat(21) + 'xy', '~'.repeat(128)]) {
      t.doesNotThrow(() => verifyCodeVerifier(s256(verifier), verifier), `${verifier.length} chars`)
    }
  })

  t.test('a stored challenge of another case does not match', async (t) => {
    t.throws(() => verifyCodeVerifier(CHALLENGE.toLowerCase(), VERIFIER), oauthError('invalid_grant'))
  })
})
