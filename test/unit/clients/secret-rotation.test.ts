/**
 * The rule of a secret rotation's overlap (oauth/client-auth.ts): the previous secret works until
 * its expiry, exclusive, and never replaces the current one; a public client still sends none.
 */
import t from 'tap'
import { authenticateClient } from '../../../src/oauth/client-auth.js'
import { hashSecret } from '../../../src/secrets.js'
import { CLIENT_SECRET, makeClient } from '../fixtures/index.js'

const NOW = 1_800_000_000
const OLD = 'the-old-secret-value'
const post = (clientId: string, secret: string) => ({ method: 'client_secret_post' as const, clientId, secret, assertion: null })

t.test('the previous secret works during the overlap, and only then', async (t) => {
  const client = makeClient({ previousSecret: { hash: hashSecret(OLD), expiresAt: NOW + 3600 } })
  t.match(authenticateClient(post(client.id, CLIENT_SECRET), client, NOW), { ok: true }, 'the new secret works')
  t.match(authenticateClient(post(client.id, OLD), client, NOW), { ok: true }, 'the old one too, at the start')
  t.match(authenticateClient(post(client.id, OLD), client, NOW + 3599), { ok: true }, 'and one second before the end')
  t.same(authenticateClient(post(client.id, OLD), client, NOW + 3600), { ok: false, reason: 'wrong_secret' }, 'not at the end')
  t.same(authenticateClient(post(client.id, OLD), client, NOW + 86_400), { ok: false, reason: 'wrong_secret' }, 'nor later')
  t.match(authenticateClient(post(client.id, CLIENT_SECRET), client, NOW + 86_400), { ok: true }, 'the new one keeps working')
})

t.test('no previous secret: only the current one; a hash is never a secret', async (t) => {
  const client = makeClient()
  t.same(authenticateClient(post(client.id, OLD), client, NOW), { ok: false, reason: 'wrong_secret' })
  const rotated = makeClient({ previousSecret: { hash: hashSecret(OLD), expiresAt: NOW + 60 } })
  t.same(
    authenticateClient(post(rotated.id, hashSecret(OLD)), rotated, NOW),
    { ok: false, reason: 'wrong_secret' },
    'the stored hash does not authenticate',
  )
})
