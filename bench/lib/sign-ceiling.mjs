// The physical limit of this machine for one process: how many RS256 (2048-bit) JWTs one core
// signs and verifies per second with jose, one at a time. Prints one JSON line.
import { SignJWT, generateKeyPair, jwtVerify } from 'jose'

const SECONDS = Number(process.env.CEILING_SECONDS ?? 3)
const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
const claims = { iss: 'https://idp.example', sub: 'user', aud: 'https://api.example', scope: 'openid email', client_id: 'client', jti: 'x'.repeat(22) }
const sign = () => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' }).setIssuedAt().setExpirationTime('10m').sign(privateKey)

async function rate(operation) {
  for (let i = 0; i < 200; i++) await operation() // warm-up
  let count = 0
  const deadline = performance.now() + SECONDS * 1000
  while (performance.now() < deadline) {
    await operation()
    count++
  }
  return Math.round(count / SECONDS)
}

const token = await sign()
const signsPerSecond = await rate(sign)
const verifiesPerSecond = await rate(() => jwtVerify(token, publicKey))
process.stdout.write(`${JSON.stringify({ signsPerSecond, verifiesPerSecond })}\n`)
