import t from 'tap'
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWSHeaderParameters } from 'jose'
import { ProofKeys } from '../../../src/dpop/proof-keys.js'
import { DpopKey } from '../../helpers/dpop.js'

const URL = 'https://id.example.com/token'

/** Verifies a proof the way src/dpop/proofs.ts does, returning the thumbprint of the key used. */
async function verify(keys: ProofKeys, proof: string): Promise<string> {
  let jkt: string | undefined
  await jwtVerify(proof, async (header, token) => {
    const found = await keys.resolve(header, token)
    jkt = found.jkt
    return found.key
  })
  return jkt!
}

const header = (proof: string) => decodeProtectedHeader(proof) as JWSHeaderParameters
const noToken = { payload: '', signature: '' }

t.test('a key is imported once and its thumbprint is the RFC 7638 one', async (t) => {
  const keys = new ProofKeys()
  const client = await DpopKey.generate('ES256')
  t.equal(await verify(keys, await client.proof({ url: URL })), client.thumbprint)
  t.equal(await verify(keys, await client.proof({ url: URL })), client.thumbprint, 'the second proof verifies with the kept key')
  t.equal(keys.size, 1)
  const first = await client.proof({ url: URL })
  t.equal(keys.resolve(header(first), noToken), keys.resolve(header(first), noToken), 'the same import answers both')
  const rsa = await DpopKey.generate('PS256')
  t.equal(await verify(keys, await rsa.proof({ url: URL })), rsa.thumbprint)
  t.equal(keys.size, 2)
})

t.test('a kept key never verifies a proof signed by another key', async (t) => {
  const keys = new ProofKeys()
  const victim = await DpopKey.generate('ES256')
  const attacker = await DpopKey.generate('ES256')
  await verify(keys, await victim.proof({ url: URL }))
  // The attacker names the victim's key in the header but can only sign with its own.
  const forged = await attacker.proof({ url: URL, header: { jwk: victim.publicJwk } })
  await t.rejects(verify(keys, forged), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
})

t.test('the same key under another alg or with another member is another entry', async (t) => {
  const keys = new ProofKeys()
  const client = await DpopKey.generate('ES256')
  await verify(keys, await client.proof({ url: URL }))
  await t.rejects(keys.resolve({ alg: 'ES384', jwk: client.publicJwk }, noToken), 'ES384 with a P-256 key is refused by jose')
  t.equal(keys.size, 1, 'a refused import is not kept')
  t.equal(await verify(keys, await client.proof({ url: URL, header: { jwk: { ...client.publicJwk, use: 'sig' } } })), client.thumbprint)
  t.equal(keys.size, 2)
})

t.test('headers jose refuses stay refused and are not kept', async (t) => {
  const keys = new ProofKeys()
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const privateJwk = await exportJWK(privateKey)
  const client = await DpopKey.generate('ES256')
  await t.rejects(verify(keys, await client.proof({ url: URL, header: { jwk: privateJwk } })), { code: 'ERR_JWS_INVALID' })
  await t.rejects(verify(keys, await client.proof({ url: URL, header: { jwk: { ...client.publicJwk, use: 'enc' } } })), {
    code: 'ERR_JWS_INVALID',
  })
  await t.rejects(keys.resolve({ alg: 'ES256' }, noToken), { code: 'ERR_JWS_INVALID' }, 'no jwk')
  t.equal(keys.size, 0)
})

t.test('at the limit the least recently used key goes', async (t) => {
  const keys = new ProofKeys(2)
  const [a, b, c] = await Promise.all([DpopKey.generate(), DpopKey.generate(), DpopKey.generate()])
  const [pa, pb, pc] = await Promise.all([a, b, c].map((key) => key.proof({ url: URL })))
  const keptA = keys.resolve(header(pa!), noToken)
  const keptB = keys.resolve(header(pb!), noToken)
  t.equal(keys.resolve(header(pa!), noToken), keptA, 'using a moves it to the back')
  keys.resolve(header(pc!), noToken)
  t.equal(keys.size, 2)
  t.equal(keys.resolve(header(pa!), noToken), keptA, 'a is still kept')
  t.not(keys.resolve(header(pb!), noToken), keptB, 'b went, and is imported again')
  await Promise.all([keptA, keptB])
})
