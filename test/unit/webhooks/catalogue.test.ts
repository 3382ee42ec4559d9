/** Which security events are webhook events, what their payload holds, which subscriptions take them, which URLs are allowed. */
import t from 'tap'
import { WEBHOOK_EVENT_TYPES, webhookEvent, webhookEventType } from '../../../src/webhooks/catalogue.js'
import { eventPatternProblem, subscribes, webhookUrlProblem } from '../../../src/webhooks/subscription.js'

t.test('security events map to dotted webhook events; some are none', async (t) => {
  t.equal(webhookEventType('login_failure', {}), 'login.failed')
  t.equal(webhookEventType('federated_login_failure', {}), 'login.failed')
  t.equal(webhookEventType('login_success', { userId: 'u' }), 'login.succeeded')
  t.equal(webhookEventType('federated_login', { userId: 'u' }), 'login.succeeded')
  t.equal(webhookEventType('account_disabled', { userId: 'u' }), 'user.disabled')
  t.equal(webhookEventType('password_reset', { userId: 'u' }), 'user.password_reset')
  t.equal(webhookEventType('key_rotation', {}), 'key.rotated')
  t.equal(webhookEventType('refresh_reuse', {}), 'security.token_reused')
  t.equal(webhookEventType('signup', { userId: 'u' }), 'user.created')
  t.equal(webhookEventType('signup', { detail: { outcome: 'existing_email' } }), null, 'a signup that created nothing')
  t.equal(webhookEventType('logout', { userId: 'u' }), 'session.ended')
  t.equal(webhookEventType('revocation', { detail: { kind: 'session', reason: 'signed_out_elsewhere' } }), 'session.ended')
  t.equal(webhookEventType('revocation', { detail: { kind: 'refresh_token' } }), null)
  t.equal(webhookEventType('webhook_failed', {}), null, 'a failed delivery never feeds a webhook')
  t.equal(webhookEventType('password_reset_requested', { userId: 'u' }), null)
  t.ok(
    WEBHOOK_EVENT_TYPES.every((type) => /^[a-z]+\.[a-z_]+$/.test(type)),
    'category.name',
  )
})

t.test('the payload: type, ISO timestamp, identifiers as recorded', async (t) => {
  t.same(webhookEvent('login_failure', { clientId: 'app', ip: '192.0.2.1' }, {}, 1_800_000_000), {
    type: 'login.failed',
    timestamp: '2027-01-15T08:00:00.000Z',
    data: { audit_type: 'login_failure', user_id: null, client_id: 'app', ip: '192.0.2.1', detail: {} },
  })
  t.same(webhookEvent('factor_added', { userId: 'u1', detail: { factor: 'totp' } }, { factor: 'totp' }, 0)?.data, {
    audit_type: 'factor_added',
    user_id: 'u1',
    client_id: null,
    ip: null,
    detail: { factor: 'totp' },
  })
  t.equal(webhookEvent('throttled', {}, {}, 0)?.type, 'security.throttled')
  t.equal(webhookEvent('email_verified', {}, {}, 0)?.type, 'user.email_verified')
  t.equal(webhookEvent('step_up', {}, {}, 0), null)
})

t.test('subscriptions: a type, a category, or everything', async (t) => {
  t.ok(subscribes(['user.created'], 'user.created'))
  t.notOk(subscribes(['user.created'], 'user.disabled'))
  t.ok(subscribes(['user.*'], 'user.disabled'))
  t.notOk(subscribes(['user.*'], 'login.failed'))
  t.ok(subscribes(['login.failed', '*'], 'key.rotated'))
  t.notOk(subscribes([], 'key.rotated'))
  for (const good of ['user.created', 'login.*', 'security.*', '*']) t.equal(eventPatternProblem(good), null, good)
  for (const bad of ['user.exploded', 'user', 'users.*', 'user.**', '', '**', 'login_failure'])
    t.match(
      eventPatternProblem(bad),
      /^unknown event .* \(events: user\.created, .*; or user\.\*, login\.\*, .*, or \*\)$/,
      JSON.stringify(bad),
    )
})

t.test('URLs: https; http only on a loopback host while the issuer is on localhost; no fragment or credentials', async (t) => {
  const local = 'http://localhost:3000'
  const real = 'https://id.example.com'
  for (const url of ['https://hooks.example.com/in', 'https://10.0.0.7:8443/in?tenant=a', 'https://localhost/in']) {
    t.equal(webhookUrlProblem(url, local), null, url)
    t.equal(webhookUrlProblem(url, real), null, url)
  }
  for (const url of ['http://127.0.0.1:9000/in', 'http://localhost/in', 'http://[::1]:8080/in']) {
    t.equal(webhookUrlProblem(url, local), null, `${url} while the issuer is local`)
    t.match(webhookUrlProblem(url, real), /must be https \(http only on a loopback host while ISSUER is on localhost\)/, url)
  }
  t.match(webhookUrlProblem('http://localhost.evil.test/in', local), /must be https/)
  t.match(webhookUrlProblem('http://192.168.1.5/in', local), /must be https/)
  t.match(webhookUrlProblem('/relative', local), /is not an absolute URL/)
  t.match(webhookUrlProblem('javascript:alert(1)', local), /must be https/)
  t.match(webhookUrlProblem('https://hooks.example.com/in#frag', real), /fragment/)
  t.match(webhookUrlProblem('https://a:b@hooks.example.com/in', real), /credentials/)
})
