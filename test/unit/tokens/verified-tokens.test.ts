/**
 * The verified-token cache: a remembered verdict counts only for the same bytes and audience,
 * while the token is unexpired and its key is still the one the key store verifies with.
 */
import t from 'tap'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { KeyStore } from '../../../src/keys/key-store.js'
import { signJwt, joseSigner } from '../../../src/tokens/sign.js'
import { TokenInvalid, verifyAccessToken, type VerifiedAccessToken } from '../../../src/tokens/verify.js'
import { VerifiedTokenCache } from '../../../src/tokens/verified-tokens.js'
import { withCharacterChanged } from '../../helpers/forgery.js'

const ISSUER = 'https://id.example'
const NOW = 1_800_000_000

/** The one thing verification asks of the key store: the public key for a kid, swappable here. */
function keyStore(kid: string, key: KeyObject | undefined) {
  const published = new Map(key ? [[kid, key]] : [])
  return {
    store: {
      verificationKey: (wanted: string | undefined) => (wanted === undefined ? undefined : published.get(wanted)),
    } as unknown as KeyStore,
    publish: (next: KeyObject | undefined) => (next ? published.set(kid, next) : published.delete(kid)),
  }
}

async function accessToken(privateKey: KeyObject, claims: Record<string, unknown> = {}) {
  return signJwt(
    joseSigner,
    'access_token',
    {
      iss: ISSUER,
      sub: 'user-1',
      aud: 'https://api.example',
      client_id: 'c',
      scope: 'openid',
      jti: 'j1',
      iat: NOW,
      exp: NOW + 600,
      ...claims,
    },
    { kid: 'k1', alg: 'RS256', key: privateKey },
  )
}

t.test('the same token verifies once; the verdict is reused while it holds', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { store } = keyStore('k1', publicKey)
  const cache = new VerifiedTokenCache()
  const token = await accessToken(privateKey)
  const options = { keys: store, issuer: ISSUER, now: NOW, audience: 'https://api.example', cache }
  const first = await verifyAccessToken(token, options)
  t.equal(cache.size, 1, 'remembered')
  t.equal(await verifyAccessToken(token, options), first, 'the remembered claims are returned')
  t.ok(Object.isFrozen(first), 'and cannot be changed by one caller for the next')
  await t.rejects(
    verifyAccessToken(token, { ...options, audience: 'https://other.example' }),
    TokenInvalid,
    'another audience is checked afresh',
  )
  const altered = withCharacterChanged(token, token.length - 10)
  await t.rejects(verifyAccessToken(altered, options), TokenInvalid, 'other bytes are verified (and fail)')
})

t.test('expired, or its key retired or replaced: verified afresh', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { store, publish } = keyStore('k1', publicKey)
  const cache = new VerifiedTokenCache()
  const token = await accessToken(privateKey)
  const options = { keys: store, issuer: ISSUER, now: NOW, cache }
  await verifyAccessToken(token, options)
  await t.rejects(verifyAccessToken(token, { ...options, now: NOW + 600 }), TokenInvalid, 'at exp it has expired (RFC 7519 §4.1.4)')
  t.equal(cache.size, 0, 'and is forgotten')

  await verifyAccessToken(token, options)
  publish(undefined)
  await t.rejects(verifyAccessToken(token, options), new TokenInvalid('unknown or retired signing key'), 'a key no longer published')
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
  publish(other.publicKey)
  await t.rejects(verifyAccessToken(token, options), TokenInvalid, 'a different key under the same kid')
  publish(publicKey)
  t.ok(await verifyAccessToken(token, options), 'the original key back: verifies again')
})

t.test('bounded: the oldest verdict makes room', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { store } = keyStore('k1', publicKey)
  const cache = new VerifiedTokenCache(2)
  const tokens = await Promise.all(['a', 'b', 'c'].map((jti) => accessToken(privateKey, { jti })))
  const seen: VerifiedAccessToken[] = []
  for (const token of tokens) seen.push(await verifyAccessToken(token, { keys: store, issuer: ISSUER, now: NOW, cache }))
  t.equal(cache.size, 2, 'never more than its capacity')
  t.equal(cache.get(tokens[0]!, undefined, store, NOW), undefined, 'the first is gone')
  t.equal(cache.get(tokens[2]!, undefined, store, NOW), seen[2], 'the latest is kept')
})
