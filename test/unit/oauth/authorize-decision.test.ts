import t, { type Test } from 'tap'
import { OAuthError } from '../../../src/errors/oauth-error.js'
import { decideAuthorization, type AuthorizationDecision, type DecisionInput } from '../../../src/oauth/authorize-decision.js'
import type { AuthorizationRequest } from '../../../src/model/authorization-request.js'

const NOW = 1_700_000_000
const request = (extra: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  clientId: 'client-a', redirectUri: 'https://rp.example/callback', scope: 'openid', state: 's', nonce: null, codeChallenge: null,
  prompt: [], maxAge: null, loginHint: null, idTokenHint: null, ...extra,
})
const session = { userId: 'user-1', authTime: NOW - 600 }
const decide = (input: Partial<DecisionInput>): AuthorizationDecision =>
  decideAuthorization({ request: request(), session, now: NOW, hintSubject: null, consentNeeded: false, ...input })

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
  expectError(t, decide({ session: undefined, request: request({ prompt: ['none'] }) }), 'login_required', 'prompt=none never renders a page')
  expectError(t, decide({ session: undefined, request: request({ prompt: ['none'] }), consentNeeded: true }), 'login_required', 'login is reported before consent')
})

t.test('a live session issues a code', async (t) => {
  t.same(decide({}), { type: 'issue_code' })
  t.same(decide({ request: request({ prompt: ['none'] }) }), { type: 'issue_code' }, 'prompt=none with a session')
  t.same(decide({ hintSubject: 'user-1' }), { type: 'issue_code' }, 'matching id_token_hint')
})

t.test('id_token_hint for another user than the session', async (t) => {
  t.same(decide({ hintSubject: 'user-2' }), { type: 'login' })
  expectError(t, decide({ hintSubject: 'user-2', request: request({ prompt: ['none'] }) }), 'login_required', 'prompt=none with a mismatched hint')
})

t.test('prompt=login forces a fresh login', async (t) => {
  t.same(decide({ request: request({ prompt: ['login'] }), session: { userId: 'user-1', authTime: NOW } }), { type: 'login' })
})

t.test('max_age', async (t) => {
  t.same(decide({ request: request({ maxAge: 3600 }) }), { type: 'issue_code' }, 'within max_age')
  t.same(decide({ request: request({ maxAge: 600 }) }), { type: 'issue_code' }, 'exactly max_age')
  t.same(decide({ request: request({ maxAge: 599 }) }), { type: 'login' }, 'max_age exceeded')
  t.same(decide({ request: request({ maxAge: 0 }), session: { userId: 'user-1', authTime: NOW } }), { type: 'login' }, 'max_age=0')
  expectError(t, decide({ request: request({ maxAge: 60, prompt: ['none'] }) }), 'login_required', 'prompt=none and max_age exceeded')
})

t.test('consent', async (t) => {
  t.same(decide({ consentNeeded: true }), { type: 'consent' })
  expectError(t, decide({ consentNeeded: true, request: request({ prompt: ['none'] }) }), 'consent_required', 'prompt=none never renders the consent page')
  t.same(decide({ consentNeeded: true, session: undefined }), { type: 'login' }, 'login comes first')
})
