import t from 'tap'
import { describeScopes, needsConsent } from '../../../src/oauth/consent.js'
import { makeAuthorizationRequest, makeClient } from '../fixtures/index.js'
import type { AuthorizationRequest } from '../../../src/model/authorization-request.js'

const request = (extra: Partial<AuthorizationRequest> = {}) => makeAuthorizationRequest({ scope: 'openid email', ...extra })
const thirdParty = makeClient({ firstParty: false })

t.test('first-party clients never ask', async (t) => {
  t.notOk(needsConsent(makeClient(), request(), null))
  t.notOk(needsConsent(makeClient(), request({ prompt: ['consent'] }), null))
})

t.test('third-party clients', async (t) => {
  t.ok(needsConsent(thirdParty, request(), null), 'no earlier consent')
  t.notOk(needsConsent(thirdParty, request(), 'openid email'), 'the same scopes were approved')
  t.notOk(needsConsent(thirdParty, request({ scope: 'openid' }), 'openid email'), 'narrower than approved')
  t.ok(needsConsent(thirdParty, request({ scope: 'openid email profile' }), 'openid email'), 'a new scope')
  t.ok(needsConsent(thirdParty, request(), 'openid emails'), 'whole scope tokens only')
  t.ok(needsConsent(thirdParty, request({ prompt: ['consent'] }), 'openid email'), 'prompt=consent always asks')
})

t.test('describeScopes', async (t) => {
  const described = describeScopes('openid email custom:scope')
  t.equal(described.length, 3)
  t.equal(new Set(described).size, 3, 'each scope has its own description')
  t.match(described[1]!, /email/i)
  t.match(described[2]!, /custom:scope/)
  t.same(describeScopes(''), [])
})
