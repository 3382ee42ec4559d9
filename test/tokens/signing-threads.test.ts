/**
 * The signing threads (tokens/signing-threads.ts, SIGNING_THREADS): the tokens they sign are the
 * ones jose signs in this thread, verifiable with the public key alone; an access token and its ID
 * token are signed in one message, the ID token carrying the access token's at_hash; concurrent
 * signatures each get their own answer; a rotated key signs under its own kid; failures are errors, never hangs;
 * a thread that dies fails only what it held and is replaced, and the token endpoint answers 503;
 * a second thread signs only when the first holds two signatures.
 * Every test of the real server process signs with them too (SIGNING_THREADS=auto).
 */
import t from 'tap'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { compactVerify, decodeProtectedHeader, jwtVerify } from 'jose'
import { joseSigner, signJwt } from '../../src/tokens/sign.js'
import { TOKEN_TYP, type TokenKind } from '../../src/tokens/token-typ.js'
import { accessTokenHash } from '../../src/oauth/claims.js'
import { SigningFailed, SigningThreads, SigningUnavailable } from '../../src/tokens/signing-threads.js'
import { workerEntry } from '../../src/worker-entry.js'
import type { SigningKey } from '../../src/keys/key-store.js'
import { post } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

function rsaKey(kid: string): { signing: SigningKey; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { signing: { kid, alg: 'RS256', key: privateKey }, publicKey }
}

const payloadOf = async (token: string, publicKey: KeyObject): Promise<unknown> =>
  JSON.parse(Buffer.from((await compactVerify(token, publicKey)).payload).toString('utf8'))

// One pool for the whole file: each thread compiles its TypeScript once under the test loader.
const threads = new SigningThreads(2)
t.teardown(() => threads.close())

t.test('each kind of token: the same header and claims as jose signs, verified by the public key', async (t) => {
  const { signing, publicKey } = rsaKey('kid-a')
  const payload = {
    iss: 'https://idp.example',
    sub: 'user-1',
    aud: ['app'],
    iat: 1_800_000_000,
    exp: 1_800_000_300,
    jti: 'j-1',
    scope: 'openid',
  }
  for (const kind of Object.keys(TOKEN_TYP) as TokenKind[]) {
    const fromThreads = await signJwt(threads, kind, payload, signing)
    const fromJose = await signJwt(joseSigner, kind, payload, signing)
    t.same(decodeProtectedHeader(fromThreads), decodeProtectedHeader(fromJose), `${kind}: alg, kid and typ`)
    t.same(decodeProtectedHeader(fromThreads), { alg: 'RS256', kid: 'kid-a', typ: TOKEN_TYP[kind] })
    t.same(await payloadOf(fromThreads, publicKey), payload, `${kind}: the claims as given, nothing added`)
    t.same(await payloadOf(fromThreads, publicKey), await payloadOf(fromJose, publicKey))
  }
  const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const forged = await signJwt(threads, 'access_token', payload, { ...signing, key: otherKey })
  await t.rejects(compactVerify(forged, publicKey), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, 'another key does not verify')
})

t.test('an access token and its ID token in one trip: at_hash binds them, as jose signs them', async (t) => {
  const { signing, publicKey } = rsaKey('kid-pair')
  const accessClaims = { iss: 'https://idp.example', sub: 'user-1', aud: 'api', iat: 1_800_000_000, jti: 'j-pair' }
  const idClaims = { iss: 'https://idp.example', sub: 'user-1', aud: 'app', iat: 1_800_000_000, nonce: 'n-1' }
  for (const [name, signer] of [
    ['threads', threads],
    ['jose', joseSigner],
  ] as const) {
    const { accessToken, idToken } = await signer.signAccessAndIdToken(accessClaims, idClaims, signing)
    t.same(decodeProtectedHeader(accessToken), { alg: 'RS256', kid: 'kid-pair', typ: 'at+jwt' }, `${name}: the access token's header`)
    t.same(decodeProtectedHeader(idToken), { alg: 'RS256', kid: 'kid-pair', typ: 'JWT' }, `${name}: the ID token's header`)
    t.same(await payloadOf(accessToken, publicKey), accessClaims, `${name}: the access token's claims as given`)
    t.same(
      await payloadOf(idToken, publicKey),
      { ...idClaims, at_hash: accessTokenHash(accessToken) },
      `${name}: the ID token's claims with the access token's at_hash (OIDC Core §3.1.3.6)`,
    )
  }
  t.same(
    idClaims,
    { iss: 'https://idp.example', sub: 'user-1', aud: 'app', iat: 1_800_000_000, nonce: 'n-1' },
    'the claims given are untouched',
  )
  const concurrent = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      threads.signAccessAndIdToken({ ...accessClaims, jti: `j-${i}` }, { ...idClaims, nonce: `n-${i}` }, signing),
    ),
  )
  for (const [i, { accessToken, idToken }] of concurrent.entries()) {
    t.equal(((await payloadOf(accessToken, publicKey)) as { jti: string }).jti, `j-${i}`)
    t.match(await payloadOf(idToken, publicKey), { nonce: `n-${i}`, at_hash: accessTokenHash(accessToken) }, `pair ${i} is one pair`)
  }
  await t.rejects(
    threads.signAccessAndIdToken(accessClaims, { ...idClaims, bad: (() => 1) as unknown as string }, signing),
    SigningFailed,
    'claims that cannot reach a thread fail the pair alone',
  )
})

t.test('concurrent signatures each get their own token, over both threads', async (t) => {
  const { signing, publicKey } = rsaKey('kid-b')
  const ids = Array.from({ length: 300 }, (_, i) => `jti-${i}`)
  const tokens = await Promise.all(ids.map((jti) => signJwt(threads, 'access_token', { sub: 's', iat: 1, jti }, signing)))
  const jtis = await Promise.all(tokens.map(async (token) => (await jwtVerify(token, publicKey, { typ: 'at+jwt' })).payload.jti))
  t.same(jtis, ids, 'every answer is the one asked for')
})

t.test('a rotated key signs under its own kid; the previous key still signs while it is asked to', async (t) => {
  const first = rsaKey('kid-first')
  const second = rsaKey('kid-second')
  const before = await signJwt(threads, 'id_token', { sub: 'u', iat: 1 }, first.signing)
  const after = await signJwt(threads, 'id_token', { sub: 'u', iat: 2 }, second.signing)
  t.equal(decodeProtectedHeader(after).kid, 'kid-second')
  t.same(await payloadOf(after, second.publicKey), { sub: 'u', iat: 2 })
  await t.rejects(compactVerify(after, first.publicKey), 'not signed with the previous key')
  t.same(await payloadOf(before, first.publicKey), { sub: 'u', iat: 1 })
  const again = await signJwt(threads, 'id_token', { sub: 'u', iat: 3 }, first.signing)
  t.same(await payloadOf(again, first.publicKey), { sub: 'u', iat: 3 })
  // More keys than a thread keeps (KEPT_KEYS): the first is dropped there, and sent again when used.
  const one = new SigningThreads(1)
  t.teardown(() => one.close())
  const many = Array.from({ length: 6 }, (_, i) => rsaKey(`kid-${i}`))
  for (const [i, { signing, publicKey }] of [...many, many[0]!, many[1]!].entries()) {
    const token = await signJwt(one, 'access_token', { sub: 'u', iat: i }, signing)
    t.same(await payloadOf(token, publicKey), { sub: 'u', iat: i }, `key ${signing.kid}, signature ${i}`)
  }
})

t.test('claims that cannot reach a thread fail that signature alone', async (t) => {
  const { signing, publicKey } = rsaKey('kid-c')
  await t.rejects(signJwt(threads, 'access_token', { sub: 'u', iat: 1, bad: (() => 1) as unknown as string }, signing), SigningFailed)
  const next = await signJwt(threads, 'access_token', { sub: 'u', iat: 1 }, signing)
  t.same(await payloadOf(next, publicKey), { sub: 'u', iat: 1 }, 'the next signature works')
})

t.test('a thread that dies fails the signatures it held, is logged, and the next signature starts another', async (t) => {
  const logged: unknown[] = []
  const log = { error: (fields: unknown) => void logged.push(fields) }
  const dying = new SigningThreads(1, log as never, workerEntry(import.meta.url, 'fixtures/crashing-signing-thread'))
  t.teardown(() => dying.close())
  const { signing, publicKey } = rsaKey('kid-f')
  const first = await signJwt(dying, 'access_token', { sub: 'u', iat: 1 }, signing)
  t.same(await payloadOf(first, publicKey), { sub: 'u', iat: 1 }, 'it signs as the real thread does')
  // Both sent before the thread reads either: the second waits behind the crash.
  const crashing = signJwt(dying, 'access_token', { sub: 'u', iat: 2, crash: 7 }, signing)
  const queued = signJwt(dying, 'access_token', { sub: 'u', iat: 3 }, signing)
  await t.rejects(crashing, { name: 'SigningUnavailable', message: 'signing thread exited (7)' })
  await t.rejects(queued, SigningUnavailable, 'a signature queued on the dead thread fails with it rather than waiting forever')
  t.match(logged, [{ event: 'signing_thread_ended', reason: 'exited (7)' }], 'the operator learns why, once')
  const after = await signJwt(dying, 'access_token', { sub: 'u', iat: 4 }, signing)
  t.same(await payloadOf(after, publicKey), { sub: 'u', iat: 4 }, 'a new thread signs, the key sent to it afresh')
  t.equal(logged.length, 1)
})

t.test('the first thread signs alone until it holds two; the next goes to another, then to the least busy', async (t) => {
  const pool = new SigningThreads(2, undefined, workerEntry(import.meta.url, 'fixtures/naming-signing-thread'))
  t.teardown(() => pool.close())
  const { signing, publicKey } = rsaKey('kid-s')
  const signer = async (iat: number): Promise<number> => {
    const claims = (await payloadOf(await signJwt(pool, 'access_token', { sub: 'u', iat }, signing), publicKey)) as { signedBy: number }
    return claims.signedBy
  }
  // One at a time, as at light load: the second thread is never woken.
  const oneByOne: number[] = []
  for (let i = 0; i < 4; i++) oneByOne.push(await signer(i))
  t.equal(new Set(oneByOne).size, 1, 'one thread signed every signature sent alone')
  // Five sent at once, before either thread answers: two on the first, two on the second, the
  // fifth on the first (both hold two, the first of the least busy wins).
  const burst = await Promise.all([10, 11, 12, 13, 14].map(signer))
  const [first, second] = [burst[0], burst[2]]
  t.not(first, second, 'the third signature of the burst went to another thread')
  t.same(burst, [first, first, second, second, first])
  t.equal(first, oneByOne[0], 'the first thread is the one that signed alone')
})

t.test('the token endpoint answers 503 temporarily_unavailable with Retry-After when no thread can sign', async (t) => {
  const closed = new SigningThreads(1)
  await closed.close()
  const ctx = await createTestApp({ overrides: { signer: closed } })
  t.teardown(() => ctx.close())
  const service = await ctx.addClient({ grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  const response = await post(ctx, '/token', service, { grant_type: 'client_credentials', scope: 'api:read' })
  t.equal(response.statusCode, 503, response.body)
  t.same(response.json(), {
    error: 'temporarily_unavailable',
    error_description: 'The service is temporarily unavailable. Try again in a moment.',
  })
  t.equal(response.headers['retry-after'], '1')
  t.equal(response.headers['cache-control'], 'no-store')
})

t.test('closed: signatures in flight end (signed or failed, never left waiting); later ones fail at once', async (t) => {
  const closing = new SigningThreads(1)
  const { signing, publicKey } = rsaKey('kid-d')
  await signJwt(closing, 'access_token', { sub: 'u', iat: 0 }, signing)
  const inFlight = Array.from({ length: 50 }, (_, i) => signJwt(closing, 'access_token', { sub: 'u', iat: i }, signing))
  const settling = Promise.allSettled(inFlight)
  await closing.close()
  const settled = await settling
  for (const result of settled) {
    if (result.status === 'fulfilled') t.same(await payloadOf(result.value, publicKey), { sub: 'u', iat: settled.indexOf(result) })
    else t.type(result.reason, SigningUnavailable)
  }
  t.ok(
    settled.some((result) => result.status === 'rejected'),
    'closing did not wait for the queue',
  )
  await t.rejects(signJwt(closing, 'access_token', { sub: 'u', iat: 1 }, signing), SigningUnavailable)
})

t.test('a server whose tokens come from the signing threads: a client_credentials token verifies against its JWKS', async (t) => {
  // Its own threads: closing the app closes them.
  const ctx = await createTestApp({ overrides: { signer: new SigningThreads(1) } })
  t.teardown(() => ctx.close())
  const service = await ctx.addClient({ grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  const response = await post(ctx, '/token', service, { grant_type: 'client_credentials', scope: 'api:read' })
  t.equal(response.statusCode, 200, response.body)
  const token = (response.json() as { access_token: string }).access_token
  const jwks = (await ctx.app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }
  t.ok(
    jwks.keys.some((key) => key.kid === decodeProtectedHeader(token).kid),
    'signed with a published key',
  )
  const verified = await jwtVerify(token, ctx.deps.keys.verificationKey(decodeProtectedHeader(token).kid)!, {
    issuer: ctx.issuer,
    typ: 'at+jwt',
    currentDate: new Date(ctx.clock.now() * 1000),
  })
  t.equal(verified.payload['client_id'], service.client.id)
  t.equal(verified.payload['scope'], 'api:read')
  await ctx.close()
  const { signing } = rsaKey('kid-e')
  await t.rejects(
    signJwt(ctx.deps.signer, 'access_token', { sub: 'u', iat: 1 }, signing),
    SigningUnavailable,
    'closing the server closed its threads',
  )
})
