import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { compactVerify, decodeProtectedHeader } from 'jose'
import { joseSigner, signJwt } from '../../../src/tokens/sign.js'
import { TOKEN_TYP } from '../../../src/tokens/token-typ.js'

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
