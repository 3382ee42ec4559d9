import t, { type Test } from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { decideAuthorization, type AuthorizationDecision, type DecisionInput } from '../../../src/oauth/authorize-decision.js'
import type { AuthorizationRequest } from '../../../src/model/authorization-request.js'
import { makeAuthorizationRequest } from '../fixtures/index.js'

const NOW = 1_700_000_000
const request = (extra: Partial<AuthorizationRequest> = {}) => makeAuthorizationRequest({ state: 's', ...extra })
const session = { userId: 'user-1', authTime: NOW - 600, amr: ['pwd'] as const }
const decide = (input: Partial<DecisionInput>): AuthorizationDecision =>
  decideAuthorization({
    request: request(),
    session,
    now: NOW,
    hintSubject: null,
    consentNeeded: false,
    required: null,
    essential: false,
    reachable: 'urn:tessera:pwd',
    mustEnroll: false,
    ...input,
  })

function expectError(t: Test, decision: AuthorizationDecision, code: string, message: string) {
  t.equal(decision.type, 'error', message)
  if (decision.type === 'error') {
    t.type(decision.error, OAuthError)
    t.equal(decision.error.error, code, message)
  }
}

t.test('no session: login page, or login_required with prompt=none', async (t) => {
  t.same(decide({ session: undefined }), { type: 'login' })
  t.same(decide({ session: undefined, request: request({ prompt: ['login'] }) }), { type: 'login' })
  expectError(
    t,
    decide({ session: undefined, request: request({ prompt: ['none'] }) }),
    'login_required',
    'prompt=none never renders a page',
  )
  expectError(
    t,
    decide({ session: undefined, request: request({ prompt: ['none'] }), consentNeeded: true }),
    'login_required',
    'login is reported before consent',
  )
})

t.test('a live session issues a code', async (t) => {
  t.same(decide({}), { type: 'issue_code' })
  t.same(decide({ request: request({ prompt: ['none'] }) }), { type: 'issue_code' }, 'prompt=none with a session')
  t.same(decide({ hintSubject: 'user-1' }), { type: 'issue_code' }, 'matching id_token_hint')
})

t.test('id_token_hint for another user than the session', async (t) => {
  t.same(decide({ hintSubject: 'user-2' }), { type: 'login' })
  expectError(
    t,
    decide({ hintSubject: 'user-2', request: request({ prompt: ['none'] }) }),
    'login_required',
    'prompt=none with a mismatched hint',
  )
})

t.test('prompt=login forces a fresh login', async (t) => {
  t.same(decide({ request: request({ prompt: ['login'] }), session: { userId: 'user-1', authTime: NOW, amr: ['pwd'] } }), { type: 'login' })
})

t.test('max_age', async (t) => {
  t.same(decide({ request: request({ maxAge: 3600 }) }), { type: 'issue_code' }, 'within max_age')
  t.same(decide({ request: request({ maxAge: 600 }) }), { type: 'issue_code' }, 'exactly max_age')
  t.same(decide({ request: request({ maxAge: 599 }) }), { type: 'login' }, 'max_age exceeded')
  t.same(
    decide({ request: request({ maxAge: 0 }), session: { userId: 'user-1', authTime: NOW, amr: ['pwd'] } }),
    { type: 'login' },
    'max_age=0',
  )
  expectError(t, decide({ request: request({ maxAge: 60, prompt: ['none'] }) }), 'login_required', 'prompt=none and max_age exceeded')
})

t.test('consent', async (t) => {
  t.same(decide({ consentNeeded: true }), { type: 'consent' })
  expectError(
    t,
    decide({ consentNeeded: true, request: request({ prompt: ['none'] }) }),
    'consent_required',
    'prompt=none never renders the consent page',
  )
  t.same(decide({ consentNeeded: true, session: undefined }), { type: 'login' }, 'login comes first')
})

t.test('acr: a session weaker than required steps up with a factor the user has (RFC 9470)', async (t) => {
  const mfa = { required: 'urn:tessera:mfa' as const, reachable: 'urn:tessera:mfa' as const }
  t.same(decide(mfa), { type: 'step_up', required: 'urn:tessera:mfa' }, 'a password session, a user with an authenticator app')
  expectError(
    t,
    decide({ ...mfa, request: request({ prompt: ['none'] }) }),
    'interaction_required',
    'prompt=none never asks for the factor',
  )
  t.same(decide({ ...mfa, session: { ...session, amr: ['pwd', 'otp', 'mfa'] } }), { type: 'issue_code' }, 'already two factors')
  t.same(decide({ ...mfa, session: { ...session, amr: ['hwk', 'user'] } }), { type: 'issue_code' }, 'a passkey is stronger than required')
  t.same(decide({ ...mfa, request: request({ prompt: ['login'] }) }), { type: 'login' }, 'prompt=login still forces a fresh sign-in first')
  t.same(
    decide({ ...mfa, consentNeeded: true, session: { ...session, amr: ['pwd', 'otp', 'mfa'] } }),
    { type: 'consent' },
    'consent after authentication',
  )
})

t.test('acr: what the user cannot reach', async (t) => {
  const phr = { required: 'phr' as const, reachable: 'urn:tessera:mfa' as const }
  t.same(decide(phr), { type: 'issue_code' }, 'acr_values is a preference: the code carries the acr achieved')
  expectError(t, decide({ ...phr, essential: true }), 'unmet_authentication_requirements', 'an essential acr fails (OIDC Core §5.5.1.1)')
})

t.test('acr: an essential acr whose values are all unknown fails at once, whatever the session', async (t) => {
  const gold = request({ essentialAcr: ['urn:example:gold'] })
  expectError(t, decide({ request: gold }), 'unmet_authentication_requirements', 'with a session')
  expectError(t, decide({ request: gold, session: undefined }), 'unmet_authentication_requirements', 'before any sign-in')
  expectError(
    t,
    decide({ request: request({ essentialAcr: ['urn:example:gold'], prompt: ['none'] }), session: undefined }),
    'unmet_authentication_requirements',
    'reported before login_required: signing in would not help',
  )
  t.same(
    decide({ request: request({ essentialAcr: ['urn:example:gold', 'urn:tessera:pwd'] }) }),
    { type: 'issue_code' },
    'a known value beside it is met',
  )
})

t.test('enrolment required by policy comes before anything else once signed in', async (t) => {
  t.same(decide({ mustEnroll: true, consentNeeded: true }), { type: 'enroll' })
  expectError(t, decide({ mustEnroll: true, request: request({ prompt: ['none'] }) }), 'interaction_required', 'never silently')
  t.same(decide({ mustEnroll: true, session: undefined }), { type: 'login' }, 'sign-in first')
})
