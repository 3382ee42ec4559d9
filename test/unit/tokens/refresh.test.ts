import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mintRefreshToken, readRefreshToken } from '../../../src/tokens/refresh.js'
import { FakeClock } from '../../helpers/clock.js'

const NOW = 1_800_000_000
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const deps = (key: Buffer) => ({
  config: { refreshTokenIdleTtl: 3600 } as never,
  clock: new FakeClock(NOW),
  refreshTokenKey: key,
})

t.test('a minted token names its grant and generation, and only its key reads it', async (t) => {
  const key = randomBytes(32)
  const minted = mintRefreshToken(deps(key), 'grant-1', 7, NOW + 86400)
  t.match(minted.token, /^[A-Za-z0-9_-]{43}\.grant-1\.7$/)
  t.same(minted.family, { generation: 7, issuedAt: NOW, idleExpiresAt: NOW + 3600 })
  t.same(readRefreshToken(key, minted.token), { grantId: 'grant-1', generation: 7 })
  t.equal(readRefreshToken(randomBytes(32), minted.token), undefined, 'another installation’s key')
  t.equal(mintRefreshToken(deps(key), 'grant-1', 7, NOW + 600).family.idleExpiresAt, NOW + 600, 'never past the family’s end')
})

t.test('anything else is not a token', async (t) => {
  const key = randomBytes(32)
  const [tag, grant, generation] = mintRefreshToken(deps(key), 'grant-1', 1, NOW + 86400).token.split('.') as [string, string, string]
  for (const raw of [
    `${tag}.${grant}.2`,
    `${tag}.${grant}.01`,
    `${tag}.${grant}.-1`,
    `${tag}.${grant}.1e0`,
    `${tag}.${grant}.9999999999`,
    `${tag}.grant-2.${generation}`,
    `${tag}..${generation}`,
    `${tag.slice(0, -1)}.${grant}.${generation}`,
    `${tag}A.${grant}.${generation}`,
    // The last of 43 characters carries 2 unused bits: another spelling of the same MAC bytes.
    `${tag.slice(0, -1)}${BASE64URL[BASE64URL.indexOf(tag.at(-1)!) ^ 1]}.${grant}.${generation}`,
    `${grant}.${generation}`,
    `${tag}.x.${grant}.${generation}`,
    '',
    'opaque-token-without-dots',
  ])
    t.equal(readRefreshToken(key, raw), undefined, raw.slice(0, 30))
})
