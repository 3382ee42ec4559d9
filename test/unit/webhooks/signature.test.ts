/** Standard Webhooks signatures: the specification's own example, and the secret format. */
import { createHmac } from 'node:crypto'
import t from 'tap'
import { newWebhookSecret, webhookHeaders, webhookSignature } from '../../../src/webhooks/signature.js'

t.test('the Standard Webhooks example signs to the published signature', async (t) => {
  // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const message = { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' }
  t.equal(webhookSignature(secret, message), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  t.same(webhookHeaders(secret, message), {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  })
  t.not(webhookSignature(secret, { ...message, timestamp: 1614265331 }), webhookSignature(secret, message), 'the timestamp is signed')
})

t.test('new secrets: whsec_ and 32 random bytes in base64; misuse is a TypeError', async (t) => {
  const secret = newWebhookSecret()
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.equal(Buffer.from(secret.slice(6), 'base64').length, 32)
  t.not(newWebhookSecret(), secret)
  const message = { id: 'msg_1', timestamp: 1, body: '{}' }
  const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
    .update('msg_1.1.{}')
    .digest('base64')
  t.equal(webhookSignature(secret, message), `v1,${expected}`, 'HMAC-SHA256 keyed with the decoded secret')
  t.throws(() => webhookSignature(secret.slice(6), message), TypeError, 'without the prefix')
  t.throws(() => webhookSignature('whsec_c2hvcnQ=', message), TypeError, 'too short')
})
