/**
 * Password hashing parameters (docs/security.md §H): argon2id at OWASP's minimum or above, configured
 * by ARGON2_*; a successful login after the parameters change rewrites the stored hash; oversized
 * passwords are refused before any hashing work.
 */
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { argon2idHasher, type PasswordHasher } from '../../src/accounts/password-hasher.js'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { closeDeps } from '../../src/deps.js'
import { CookieJar, signInAtLoginPage } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const NO_THROTTLE = { LOGIN_RATE_LIMIT: '1000', LOGIN_FAILURE_LIMIT: '1000' }

/** The parameters of a PHC-format argon2id hash (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, any order). */
function argon2Parameters(hash: string): Record<string, number> {
  const match = /^\$argon2id\$v=19\$([^$]+)\$[^$]+\$[^$]+$/.exec(hash)
  if (!match) throw new Error(`not an argon2id hash: ${hash.slice(0, 20)}…`)
  return Object.fromEntries(match[1]!.split(',').map((pair) => [pair.split('=')[0]!, Number(pair.split('=')[1])]))
}

t.test('after ARGON2_TIME_COST changes, a successful login rehashes the password; a failed one does not', async (t) => {
  const first = await createTestApp({ env: NO_THROTTLE })
  const user = await first.addUser({ password: 'an old but still fine passphrase' })
  const original = (await first.deps.repos.users.findByEmail(user.email))!.passwordHash
  t.same(argon2Parameters(original), { m: 19456, t: 2, p: 1 }, 'hashed with the defaults')
  // Stop the first server (without removing its folder), then start again with t=3.
  await first.app.close()
  await closeDeps(first.deps)
  t.teardown(() => fs.rmSync(first.dir, { recursive: true, force: true }))
  const second = await createTestApp({
    env: { ...NO_THROTTLE, DATABASE_URL: first.databaseUrl, KEYS_DIR: path.join(first.dir, 'keys'), ARGON2_TIME_COST: '3' },
  })
  t.teardown(() => second.close())
  const storedHash = async () => (await second.deps.repos.users.findByEmail(user.email))!.passwordHash

  const wrong = await signInAtLoginPage(second, new CookieJar(), user.email, 'not the passphrase at all')
  t.equal(wrong.statusCode, 401)
  t.equal(await storedHash(), original, 'a failed login leaves the hash alone')

  const right = await signInAtLoginPage(second, new CookieJar(), user.email, user.password)
  t.equal(right.statusCode, 303, 'the old hash still verifies')
  const rehashed = await storedHash()
  t.same(argon2Parameters(rehashed), { m: 19456, t: 3, p: 1 }, 'rewritten with t=3')
  t.match(rehashed, /[$,]t=3[,$]/, 'the stored hash says t=3')
  t.not(rehashed, original)

  const again = await signInAtLoginPage(second, new CookieJar(), user.email, user.password)
  t.equal(again.statusCode, 303, 'the new hash verifies')
  t.equal(await storedHash(), rehashed, 'and is not rewritten again: it already has the current parameters')
})

t.test('configuration refuses argon2 parameters below the OWASP minimum', async (t) => {
  const base = { DATABASE_URL: 'sqlite:/tmp/never-opened.db' }
  for (const [name, value] of [
    ['ARGON2_MEMORY_COST', '1024'],
    ['ARGON2_MEMORY_COST', '19455'],
    ['ARGON2_TIME_COST', '1'],
    ['ARGON2_PARALLELISM', '0'],
  ] as const) {
    const error = t.throws(() => loadConfig({ ...base, [name]: value }), `${name}=${value} is refused`) as unknown
    t.ok(error instanceof ConfigError, 'as a ConfigError')
    t.match((error as ConfigError).problems.join('\n'), new RegExp(`^${name}: `, 'm'), 'naming the variable')
  }
  const minimum = loadConfig({ ...base, ARGON2_MEMORY_COST: '19456', ARGON2_TIME_COST: '2', ARGON2_PARALLELISM: '1' })
  t.match(minimum, { argon2MemoryCost: 19456, argon2TimeCost: 2, argon2Parallelism: 1 }, 'the minimum itself is accepted')
})

t.test('oversized passwords are refused before any hashing', async (t) => {
  const real = argon2idHasher()
  const calls = { hash: 0, verify: 0 }
  const spy: PasswordHasher = {
    hash: (password) => ((calls.hash += 1), real.hash(password)),
    verify: (hash, password) => ((calls.verify += 1), real.verify(hash, password)),
    needsRehash: (hash) => real.needsRehash(hash),
  }
  const ctx = await createTestApp({ env: NO_THROTTLE, overrides: { hasher: spy } })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const login = (password: string) => signInAtLoginPage(ctx, new CookieJar(), user.email, password)
  const reset = () => Object.assign(calls, { hash: 0, verify: 0 })

  reset()
  const normal = await login('a wrong but ordinary password')
  t.equal(normal.statusCode, 401)
  t.equal(calls.verify, 1, 'control: an ordinary wrong password is verified with argon2')

  reset()
  const huge = await login('x'.repeat(5000))
  t.equal(huge.statusCode, 400, '5000 characters: refused by the form schema')
  t.notOk(huge.body.includes('x'.repeat(100)), 'the password is not echoed back')
  t.same(calls, { hash: 0, verify: 0 }, 'without hashing')

  reset()
  const long = await login('x'.repeat(2000))
  t.equal(long.statusCode, 401, '2000 characters: the ordinary login failure')
  t.match(long.body, /Incorrect email or password/)
  t.same(calls, { hash: 0, verify: 0 }, 'without hashing (above the 1024-character limit)')

  reset()
  const atLimit = await login('x'.repeat(1024))
  t.equal(atLimit.statusCode, 401)
  t.equal(calls.verify, 1, 'at the limit the password is still checked')
})
