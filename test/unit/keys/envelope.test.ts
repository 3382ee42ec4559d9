import t from 'tap'
import { randomBytes } from 'node:crypto'
import { openEnvelope, sealEnvelope } from '../../../src/keys/envelope.js'

const key = randomBytes(32)
const plaintext = Buffer.from('-----private key material-----')

t.test('round trip', async (t) => {
  const sealed = sealEnvelope(key, plaintext, 'kid-1')
  t.match(sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  t.notMatch(sealed, /private key material/, 'not stored in clear')
  t.same(openEnvelope(key, sealed, 'kid-1'), plaintext)
  t.same(openEnvelope(key, sealEnvelope(key, Buffer.alloc(0), ''), ''), Buffer.alloc(0), 'empty plaintext')
})

t.test('a random IV: sealing twice gives different ciphertexts', async (t) => {
  t.not(sealEnvelope(key, plaintext, 'kid-1'), sealEnvelope(key, plaintext, 'kid-1'))
})

t.test('tampering is detected', async (t) => {
  const sealed = sealEnvelope(key, plaintext, 'kid-1')
  const [version, iv, tag, ciphertext] = sealed.split('.') as [string, string, string, string]
  const flip = (part: string) => {
    const bytes = Buffer.from(part, 'base64url')
    bytes[0] = bytes[0]! ^ 0x01
    return bytes.toString('base64url')
  }
  t.throws(() => openEnvelope(key, [version, iv, tag, flip(ciphertext)].join('.'), 'kid-1'), 'tampered ciphertext')
  t.throws(() => openEnvelope(key, [version, iv, flip(tag), ciphertext].join('.'), 'kid-1'), 'tampered tag')
  t.throws(() => openEnvelope(key, [version, flip(iv), tag, ciphertext].join('.'), 'kid-1'), 'tampered iv')
  t.throws(() => openEnvelope(key, [version, iv, tag, ciphertext.slice(0, -2)].join('.'), 'kid-1'), 'truncated ciphertext')
})

t.test('a truncated authentication tag is refused (GCM accepts 4-byte tags unless the length is pinned)', async (t) => {
  const sealed = sealEnvelope(key, plaintext, 'kid-1')
  const [version, iv, tag, ciphertext] = sealed.split('.') as [string, string, string, string]
  for (const bytes of [4, 8, 12, 15]) {
    const short = Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url')
    t.throws(() => openEnvelope(key, [version, iv, short, ciphertext].join('.'), 'kid-1'), `${bytes}-byte tag`)
  }
})

t.test('wrong associated data or key fails (ciphertexts cannot be swapped between rows)', async (t) => {
  const sealed = sealEnvelope(key, plaintext, 'kid-1')
  t.throws(() => openEnvelope(key, sealed, 'kid-2'))
  t.throws(() => openEnvelope(key, sealed, ''))
  t.throws(() => openEnvelope(randomBytes(32), sealed, 'kid-1'))
})

t.test('unknown formats are refused', async (t) => {
  const sealed = sealEnvelope(key, plaintext, 'kid-1')
  t.throws(() => openEnvelope(key, sealed.replace(/^v1/, 'v2'), 'kid-1'), { message: /unknown envelope format/ })
  t.throws(() => openEnvelope(key, 'v1.abc', 'kid-1'), { message: /unknown envelope format/ })
  t.throws(() => openEnvelope(key, '', 'kid-1'), { message: /unknown envelope format/ })
})
