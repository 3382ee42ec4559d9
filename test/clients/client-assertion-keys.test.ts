/**
 * private_key_jwt key sets kept imported (src/clients/client-assertion.ts): a client's keys are
 * imported once, and a client whose registered keys change is checked against the new set at
 * once, never the old one.
 */
import t from 'tap'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { randomUUID } from 'node:crypto'
import { createClientAssertionVerifier } from '../../src/clients/client-assertion.js'
import { documentFetchPolicy } from '../../src/clients/directory.js'
import { makeClient } from '../unit/fixtures/index.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())

async function keyPair(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), alg: 'ES256' } }
}

const assertion = (clientId: string, key: CryptoKey) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(ctx.issuer)
    .setIssuedAt(ctx.clock.now())
    .setExpirationTime(ctx.clock.now() + 60)
    .setJti(randomUUID())
    .sign(key)

t.test('a client that changes its keys is checked against the new ones only', async (t) => {
  const verifier = createClientAssertionVerifier(ctx.deps, documentFetchPolicy(ctx.issuer))
  const [first, second] = await Promise.all([keyPair(), keyPair()])
  const before = makeClient({ id: 'signed-client', metadata: { jwks: { keys: [first.jwk] } } })
  t.equal(await verifier.verify(before, await assertion(before.id, first.privateKey)), null)
  t.equal(await verifier.verify(before, await assertion(before.id, first.privateKey)), null, 'again, from the kept set')
  t.not(await verifier.verify(before, await assertion(before.id, second.privateKey)), null, 'a key it did not register')

  // The same client, now registered with the second key only (as read again after an update).
  const after = makeClient({ id: 'signed-client', metadata: { jwks: { keys: [second.jwk] } } })
  t.equal(await verifier.verify(after, await assertion(after.id, second.privateKey)), null)
  t.equal(
    await verifier.verify(after, await assertion(after.id, first.privateKey)),
    'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    'the replaced key is refused',
  )
  // An equal set read again (a new object from the database) still verifies.
  const reread = makeClient({ id: 'signed-client', metadata: JSON.parse(JSON.stringify(after.metadata)) as Record<string, unknown> })
  t.equal(await verifier.verify(reread, await assertion(reread.id, second.privateKey)), null)
})
