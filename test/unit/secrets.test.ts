import t from 'tap'
import { createHash } from 'node:crypto'
import { hashSecret, randomId, randomToken, secretMatches } from '../../src/secrets.js'

t.test('hashSecret is SHA-256, base64url', async (t) => {
  t.equal(hashSecret('abc'), createHash('sha256').update('abc').digest('base64url'))
  t.equal(hashSecret('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  t.equal(hashSecret('abc'), hashSecret('abc'), 'deterministic')
  t.not(hashSecret('abc'), hashSecret('abd'))
  t.not(hashSecret('abc'), 'abc', 'never the secret itself')
  t.equal(hashSecret('é'), createHash('sha256').update(Buffer.from('é', 'utf8')).digest('base64url'), 'UTF-8 encoded')
})

t.test('secretMatches', async (t) => {
  const stored = hashSecret('s3cr%t:+ value')
  t.ok(secretMatches('s3cr%t:+ value', stored))
  t.notOk(secretMatches('s3cr%t:+ valu', stored), 'a prefix')
  t.notOk(secretMatches('s3cr%t:+ value ', stored), 'a trailing space (no trimming)')
  t.notOk(secretMatches('S3CR%T:+ VALUE', stored), 'case-sensitive')
  t.notOk(secretMatches('', stored), 'empty')
  t.notOk(secretMatches(stored, stored), 'the hash is not a password')
  t.notOk(secretMatches('s3cr%t:+ value', ''), 'an empty stored hash matches nothing')
  t.notOk(
    secretMatches('s3cr%t:+ value', stored.slice(0, -1)),
    'a truncated stored hash (length differs) matches nothing, without throwing',
  )
})

t.test('randomToken and randomId', async (t) => {
  const token = randomToken()
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url')
  t.match(randomId(), /^[A-Za-z0-9_-]{22}$/, '128 bits, base64url')
  t.equal(randomToken(16).length, 22)
  const seen = new Set(Array.from({ length: 1000 }, () => randomToken()))
  t.equal(seen.size, 1000, 'no repeats')
})

t.test('random ids never begin with a dash (they are typed as command-line arguments)', async (t) => {
  const ids = Array.from({ length: 5000 }, () => randomId())
  t.equal(ids.filter((id) => id.startsWith('-')).length, 0)
  t.ok(
    ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id)),
    'base64url, 22 characters',
  )
  t.equal(new Set(ids).size, ids.length, 'all different')
})
