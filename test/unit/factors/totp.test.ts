/**
 * The authenticator-app rules against RFC 6238 Appendix B's test vectors (SHA-1, the 20-byte
 * ASCII secret "12345678901234567890"; Tessera shows 6 digits, the vectors' last six), with the
 * storage a plain in-memory stand-in for the totp repository.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { sealEnvelope } from '../../../src/keys/envelope.js'
import { verifyTotp } from '../../../src/factors/totp.js'
import type { FactorContext } from '../../../src/factors/context.js'
import type { TotpFactor } from '../../../src/model/factors.js'

const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' // base32 of "12345678901234567890"
const VECTORS: [number, string][] = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
]

function context(now: { value: number }) {
  const factorKey = randomBytes(32)
  let factor: TotpFactor = {
    userId: 'u1',
    sealedSecret: sealEnvelope(factorKey, Buffer.from(RFC_SECRET), 'totp:u1'),
    createdAt: 0,
    confirmedAt: 1,
    lastTimeStep: null,
  }
  const totp = {
    find: async () => factor,
    acceptTimeStep: async (_user: string, step: number) => {
      if (factor.lastTimeStep !== null && step <= factor.lastTimeStep) return false
      factor = { ...factor, lastTimeStep: step }
      return true
    },
  }
  return { factorKey, repos: { totp }, clock: { now: () => now.value } } as unknown as FactorContext
}

t.test('RFC 6238 Appendix B vectors are accepted at their time', async (t) => {
  for (const [time, code] of VECTORS) {
    const now = { value: time }
    t.equal(await verifyTotp(context(now), 'u1', code), true, `T=${time}: ${code}`)
  }
})

t.test('a code works once, within one step of drift; malformed input is simply wrong', async (t) => {
  const now = { value: 1111111111 }
  const ctx = context(now)
  t.equal(await verifyTotp(ctx, 'u1', '050471'), true)
  t.equal(await verifyTotp(ctx, 'u1', '050471'), false, 'the same code again (RFC 6238 §5.2)')
  t.equal(await verifyTotp(ctx, 'u1', '081804'), false, 'an older step after a newer one was used')
  const drift = { value: 1111111109 + 30 }
  t.equal(await verifyTotp(context(drift), 'u1', '081804'), true, 'one step behind is accepted (a slow typist, a drifting phone)')
  const late = { value: 1111111109 + 90 }
  t.equal(await verifyTotp(context(late), 'u1', '081804'), false, 'three steps behind is not')
  for (const bad of ['', '12345', '1234567', 'abcdef', '0814 04x'])
    t.equal(await verifyTotp(context({ value: 59 }), 'u1', bad), false, JSON.stringify(bad))
  t.equal(await verifyTotp(context({ value: 59 }), 'u1', ' 287 082 '), true, 'spaces are ignored')
})
