import t from 'tap'
import {
  ACR_MFA,
  ACR_PASSWORD,
  ACR_PHISHING_RESISTANT,
  acrForRequest,
  acrOf,
  addMethods,
  essentialAcrUnmeetable,
  parseAcr,
  reachesAcr,
  requiredAcr,
  satisfiesAcr,
} from '../../../src/oauth/acr.js'
import { accessTokenClaims, acrClaimOf, idTokenClaims } from '../../../src/oauth/claims.js'

t.test('acrOf: the class a set of methods achieves', async (t) => {
  t.equal(acrOf(['pwd']), ACR_PASSWORD)
  t.equal(acrOf(['pwd', 'otp', 'mfa']), ACR_MFA)
  t.equal(acrOf(['hwk', 'user']), ACR_PHISHING_RESISTANT, 'a device-bound passkey with user verification')
  t.equal(acrOf(['swk', 'user']), ACR_PHISHING_RESISTANT, 'a synced passkey with user verification')
  t.equal(acrOf(['pwd', 'swk', 'user', 'mfa']), ACR_PHISHING_RESISTANT, 'a passkey as second factor')
  t.equal(acrOf(['hwk']), ACR_PASSWORD, 'no user verification: not phishing-resistant multi-factor')
  t.equal(acrOf(['otp']), ACR_PASSWORD, 'one factor of any kind is one factor')
})

t.test('addMethods: union, and mfa once a knowledge and a possession factor are in (RFC 8176)', async (t) => {
  t.same(addMethods(['pwd'], ['otp']), ['pwd', 'otp', 'mfa'])
  t.same(addMethods(['pwd'], ['hwk', 'user']), ['pwd', 'hwk', 'user', 'mfa'])
  t.same(addMethods(['pwd', 'otp', 'mfa'], ['otp']), ['pwd', 'otp', 'mfa'], 'no duplicates')
  t.same(addMethods([], ['pwd']), ['pwd'])
})

t.test('satisfiesAcr: ordered pwd < mfa < phr', async (t) => {
  t.ok(satisfiesAcr(ACR_PASSWORD, null))
  t.ok(satisfiesAcr(ACR_MFA, ACR_PASSWORD))
  t.ok(satisfiesAcr(ACR_PHISHING_RESISTANT, ACR_MFA), 'a user-verifying passkey satisfies a two-factor request')
  t.notOk(satisfiesAcr(ACR_MFA, ACR_PHISHING_RESISTANT), 'an authenticator-app code is not phishing-resistant')
  t.notOk(satisfiesAcr(ACR_PASSWORD, ACR_MFA))
})

t.test('requiredAcr: acr_values (any one is acceptable), an essential acr, the client policy', async (t) => {
  t.equal(requiredAcr([], null, false), null, 'nothing asked')
  t.equal(requiredAcr(['urn:tessera:mfa'], null, false), ACR_MFA)
  t.equal(requiredAcr(['phr', 'urn:tessera:mfa'], null, false), ACR_MFA, 'the weakest acceptable one')
  t.equal(requiredAcr(['urn:example:unknown'], null, false), null, 'unknown values are ignored')
  t.equal(requiredAcr([], ['phr'], false), ACR_PHISHING_RESISTANT, 'an essential claim')
  t.equal(requiredAcr([], null, true), ACR_MFA, 'the client requires a second factor')
  t.equal(requiredAcr(['urn:tessera:pwd'], null, true), ACR_MFA, 'the client policy wins over a weaker request')
  t.equal(requiredAcr(['phr'], null, true), ACR_PHISHING_RESISTANT, 'a stronger request wins over the policy')
})

t.test('reachesAcr: which factor a step-up may offer', async (t) => {
  t.ok(reachesAcr(['pwd'], ['otp'], ACR_MFA), 'a code after a password reaches urn:tessera:mfa')
  t.notOk(reachesAcr(['pwd', 'otp', 'mfa'], ['otp'], ACR_PHISHING_RESISTANT), 'no code reaches phr')
  t.ok(reachesAcr(['pwd', 'otp', 'mfa'], ['hwk', 'user'], ACR_PHISHING_RESISTANT), 'a passkey does')
  t.ok(reachesAcr(['pwd'], ['swk', 'user'], ACR_PHISHING_RESISTANT), 'a synced one too')
  t.notOk(reachesAcr([], ['otp'], ACR_MFA), 'a code alone (no password in this sign-in) is one factor')
  t.ok(reachesAcr(['pwd'], ['otp'], null), 'nothing required: any factor')
})

t.test('essentialAcrUnmeetable: an essential acr naming only classes Tessera never issues (OIDC Core §5.5.1.1)', async (t) => {
  t.notOk(essentialAcrUnmeetable(null), 'no essential acr')
  t.ok(essentialAcrUnmeetable(['urn:example:gold']))
  t.ok(essentialAcrUnmeetable(['urn:example:gold', 'loa3']))
  t.notOk(essentialAcrUnmeetable(['urn:example:gold', ACR_MFA]), 'one known value is enough')
})

t.test('acrForRequest: a requested value the session meets, else what it achieved', async (t) => {
  const passkey = ['hwk', 'user'] as const
  const twoFactors = ['pwd', 'otp', 'mfa'] as const
  t.equal(acrForRequest(passkey, [], [ACR_MFA]), ACR_MFA, 'essential values: one of them (§5.5.1.1), not the stronger phr')
  t.equal(acrForRequest(passkey, [], ['urn:example:gold', ACR_MFA]), ACR_MFA, 'unknown values are skipped')
  t.equal(acrForRequest(passkey, [ACR_MFA], null), ACR_MFA, 'acr_values too (§3.1.2.1)')
  t.equal(acrForRequest(passkey, [ACR_MFA, ACR_PHISHING_RESISTANT], null), ACR_MFA, 'the first in order of preference that is met')
  t.equal(acrForRequest(passkey, [ACR_PHISHING_RESISTANT, ACR_MFA], null), ACR_PHISHING_RESISTANT)
  t.equal(acrForRequest(twoFactors, [ACR_PHISHING_RESISTANT, ACR_MFA], null), ACR_MFA, 'skipping what the session does not meet')
  t.equal(acrForRequest(['pwd'], [ACR_PHISHING_RESISTANT], null), ACR_PASSWORD, 'a voluntary value not met: the session’s own acr')
  t.equal(acrForRequest(twoFactors, [ACR_PASSWORD], [ACR_MFA]), ACR_MFA, 'the essential values come first')
  t.equal(acrForRequest(passkey, [], null), ACR_PHISHING_RESISTANT, 'nothing asked: what was achieved')
  t.equal(acrForRequest(['pwd'], [], ['urn:example:gold']), ACR_PASSWORD, 'never an unknown value')
})

t.test('tokens carry the chosen acr, never more than amr shows', async (t) => {
  t.equal(acrClaimOf(['hwk', 'user'], ACR_MFA), ACR_MFA)
  t.equal(acrClaimOf(['pwd'], ACR_PHISHING_RESISTANT), ACR_PASSWORD, 'a stored value stronger than amr is not believed')
  t.equal(acrClaimOf(['pwd', 'otp', 'mfa'], null), ACR_MFA, 'none chosen (older codes and grants): from amr')
  t.equal(acrClaimOf(['pwd', 'otp', 'mfa'], undefined), ACR_MFA)
  const user = { id: 'u1', email: 'a@example.com', emailVerified: true, name: null, roles: [] }
  const id = idTokenClaims({
    issuer: 'https://idp.example',
    clientId: 'c1',
    user,
    scope: 'openid',
    authTime: 1,
    nonce: null,
    now: 2,
    ttl: 60,
    amr: ['swk', 'user'],
    acr: ACR_MFA,
  })
  t.match(id, { amr: ['swk', 'user'], acr: ACR_MFA })
  const access = accessTokenClaims({
    issuer: 'https://idp.example',
    audience: 'https://idp.example',
    clientId: 'c1',
    subject: 'u1',
    scope: 'openid',
    jti: 'j',
    authTime: 1,
    now: 2,
    ttl: 60,
    amr: ['swk', 'user'],
    acr: ACR_MFA,
  })
  t.match(access, { amr: ['swk', 'user'], acr: ACR_MFA })
})

t.test('parseAcr: stored values are checked', async (t) => {
  t.equal(parseAcr('phr'), ACR_PHISHING_RESISTANT)
  t.equal(parseAcr(null), null)
  t.equal(parseAcr('urn:example:gold'), null, 'unknown: dropped')
})
