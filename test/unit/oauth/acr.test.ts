import t from 'tap'
import { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, acrOf, addMethods, requiredAcr, satisfiesAcr } from '../../../src/oauth/acr.js'

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
