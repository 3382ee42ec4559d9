import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { compactVerify, decodeProtectedHeader } from 'jose'
import { accessTokenHash, joseSigner, signJwt, TOKEN_TYP } from '../../../src/tokens/sign.js'

t.test('accessTokenHash: the OIDC Core example (at_hash)', async (t) => {
  t.equal(accessTokenHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y'), '77QmUPtjPfzWtF2AnpK9RQ')
  t.equal(accessTokenHash('x').length, 22, '128 bits, base64url without padding')
})

t.test('signJwt: RS256 with kid and a typ per token kind', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const key = { kid: 'kid-1', alg: 'RS256' as const, key: privateKey }
  const access = await signJwt(joseSigner, 'access_token', { sub: 'u' }, key)
  t.same(decodeProtectedHeader(access), { alg: 'RS256', kid: 'kid-1', typ: 'at+jwt' })
  const id = await signJwt(joseSigner, 'id_token', { sub: 'u' }, key)
  t.same(decodeProtectedHeader(id), { alg: 'RS256', kid: 'kid-1', typ: 'JWT' })
  const { payload } = await compactVerify(id, publicKey)
  t.same(JSON.parse(Buffer.from(payload).toString()), { sub: 'u' })
  t.not(TOKEN_TYP.access_token, TOKEN_TYP.id_token, 'the two kinds cannot be confused by typ')
})
