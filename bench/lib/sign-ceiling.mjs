// The physical limit of this machine: how many RS256 (2048-bit) JWTs one core signs (and
// verifies) per second. Run twice by the orchestrator — with UV_THREADPOOL_SIZE=1 (one core does
// the RSA work: the single-core ceiling) and with the default pool (every core). jose signs on
// libuv's pool, so it is measured with many signatures in flight, as a busy server has them;
// node:crypto's synchronous sign on this thread is the other single-core figure, and fast-jwt's
// whole JWT on this thread what one of Tessera's signing threads can do (SIGNING_THREADS).
// CEILING_QUICK=1 measures only the two one-core signing figures: the orchestrator reads them again
// beside every round of the token rows, because this machine's speed drifts within a run.
// Prints JSON.
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { SignJWT, jwtVerify } from 'jose'

const SECONDS = Number(process.env.CEILING_SECONDS ?? 3)
const QUICK = process.env.CEILING_QUICK === '1'
const IN_FLIGHT = 64
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const claims = {
  iss: 'https://idp.example',
  sub: 'user',
  aud: 'https://api.example',
  scope: 'openid email',
  client_id: 'client',
  jti: 'x'.repeat(22),
}
const sign = () =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' }).setIssuedAt().setExpirationTime('10m').sign(privateKey)

/** Operations per second with `parallel` of them in flight, after a warm-up. */
async function rate(operation, parallel) {
  let count = 0
  let deadline = performance.now() + 500
  const worker = async (counting) => {
    while (performance.now() < deadline) {
      await operation()
      if (counting) count++
    }
  }
  await Promise.all(Array.from({ length: parallel }, () => worker(false)))
  deadline = performance.now() + SECONDS * 1000
  const started = performance.now()
  await Promise.all(Array.from({ length: parallel }, () => worker(true)))
  return Math.round(count / ((performance.now() - started) / 1000))
}

const fastJwtSign = createSigner({
  key: privateKey.export({ format: 'pem', type: 'pkcs8' }),
  algorithm: 'RS256',
  kid: 'k1',
  header: { alg: 'RS256', typ: 'at+jwt' },
})
const fastJwtClaims = () => {
  const now = Math.floor(Date.now() / 1000)
  return { ...claims, iat: now, exp: now + 600 }
}

const payload = Buffer.from('x'.repeat(300))
const signing = async () => ({
  threadPool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
  joseSignsPerSecond: await rate(sign, IN_FLIGHT),
  nodeSyncSignsPerSecond: await rate(async () => nodeSign('sha256', payload, privateKey), 1),
})
if (QUICK) {
  process.stdout.write(`${JSON.stringify(await signing())}\n`)
  process.exit(0)
}
const token = await sign()
const result = {
  ...(await signing()),
  joseSequentialSignsPerSecond: await rate(sign, 1),
  fastJwtSignsPerSecond: await rate(async () => fastJwtSign(fastJwtClaims()), 1),
  joseVerifiesPerSecond: await rate(() => jwtVerify(token, publicKey), IN_FLIGHT),
}
process.stdout.write(`${JSON.stringify(result)}\n`)
