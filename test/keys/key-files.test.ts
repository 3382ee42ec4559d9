/**
 * The key-encryption key on disk (docs/security.md §F): KEYS_DIR 0700 and kek.json 0600 whatever was
 * there before, KEYS_PASSPHRASE keeps the raw key out of the file, a wrong passphrase or a lost
 * KEK stops startup with a clear error, and signing keys are encrypted at rest in the database.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createPrivateKey } from 'node:crypto'
import pino from 'pino'
import { loadConfig } from '../../src/config/config.js'
import { closeDeps, createDeps } from '../../src/deps.js'
import { openEnvelope } from '../../src/keys/envelope.js'
import { KeyStoreError, loadOrCreateKek } from '../../src/keys/kek.js'
import { freePort } from '../helpers/free-port.js'
import { createTestApp, tempDir, type TestApp } from '../helpers/test-app.js'
import { snapshotBuild, withTimeout } from '../helpers/processes.js'
import { jwksKids, startServer } from './support.js'

t.setTimeout(300_000)

const PASSPHRASE = 'a long passphrase nobody guesses'
const mode = (file: string) => fs.statSync(file).mode & 0o777
const octal = (value: number) => `0${value.toString(8)}`

async function app(t: Test, env: Record<string, string>): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

/** The ways a 32-byte key could appear in a text file. */
const encodings = (key: Buffer) => [key.toString('base64url'), key.toString('base64'), key.toString('hex')]

t.test('a new KEYS_DIR is created 0700 with kek.json 0600, even under umask 000', async (t) => {
  const previous = process.umask(0)
  t.teardown(() => void process.umask(previous))
  const ctx = await app(t, {})
  const dir = ctx.deps.config.keysDir
  t.equal(octal(mode(dir)), '0700', 'KEYS_DIR is 0700')
  t.equal(octal(mode(path.join(dir, 'kek.json'))), '0600', 'kek.json is 0600')
  t.same(fs.readdirSync(dir), ['kek.json'], 'nothing else is written there')
})

t.test('a pre-existing 0755 KEYS_DIR and a 0644 kek.json are tightened', async (t) => {
  const dir = path.join(tempDir(), 'keys')
  t.teardown(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }))
  fs.mkdirSync(dir, { mode: 0o755 })
  fs.chmodSync(dir, 0o755)
  const first = await app(t, { KEYS_DIR: dir })
  t.equal(octal(mode(dir)), '0700', 'an existing 0755 directory becomes 0700')
  t.equal(octal(mode(path.join(dir, 'kek.json'))), '0600')

  fs.chmodSync(dir, 0o755)
  fs.chmodSync(path.join(dir, 'kek.json'), 0o644)
  const config = loadConfig({ DATABASE_URL: first.databaseUrl, KEYS_DIR: dir, LOG_LEVEL: 'silent' })
  const again = await createDeps(config, { log: pino({ level: 'silent' }) })
  t.teardown(() => closeDeps(again))
  t.equal(octal(mode(dir)), '0700', 'restarting tightens the directory again')
  t.equal(octal(mode(path.join(dir, 'kek.json'))), '0600', 'and the file')
  t.equal(again.keys.signingKey().kid, first.deps.keys.signingKey().kid, 'the same keys are loaded')
})

t.test('KEYS_PASSPHRASE protects kek.json', async (t) => {
  const dir = path.join(tempDir(), 'keys')
  t.teardown(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }))
  const ctx = await app(t, { KEYS_DIR: dir, KEYS_PASSPHRASE: PASSPHRASE })
  t.equal((await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys.length, 2, 'the server starts and publishes its keys')
  const file = path.join(dir, 'kek.json')
  const content = fs.readFileSync(file, 'utf8')
  const kek = loadOrCreateKek(dir, PASSPHRASE)
  t.equal(kek.length, 32)
  for (const encoded of encodings(kek)) t.notOk(content.includes(encoded), 'the file does not contain the raw key')
  t.notOk(content.includes(PASSPHRASE), 'nor the passphrase')
  t.notOk('kek' in (JSON.parse(content) as object), 'no plaintext kek member')
  t.equal(octal(mode(file)), '0600')

  t.throws(() => loadOrCreateKek(dir, 'the wrong passphrase'), { name: 'KeyStoreError', message: /KEYS_PASSPHRASE does not open/ }, 'a wrong passphrase is refused clearly')
  t.throws(() => loadOrCreateKek(dir, null), { name: 'KeyStoreError', message: /passphrase-protected: set KEYS_PASSPHRASE/ }, 'a missing passphrase is refused clearly')
  const config = loadConfig({ DATABASE_URL: ctx.databaseUrl, KEYS_DIR: dir, KEYS_PASSPHRASE: 'the wrong passphrase', LOG_LEVEL: 'silent' })
  await t.rejects(createDeps(config, { log: pino({ level: 'silent' }) }), KeyStoreError, 'startup with a wrong passphrase fails')

  t.test('the real server: wrong passphrase fails to start, the right one works', async (t) => {
    const { main } = await snapshotBuild()
    const port = await freePort()
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: `http://127.0.0.1:${port}`,
      DATABASE_URL: ctx.databaseUrl,
      KEYS_DIR: dir,
      LOG_LEVEL: 'warn',
    }
    const child = spawn(process.execPath, [main], { env: { ...env, KEYS_PASSPHRASE: 'the wrong passphrase' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    t.teardown(() => void child.kill('SIGKILL'))
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on('close', resolve)), 60_000, 'the server to give up')
    t.not(code, 0, 'exits non-zero')
    t.match(output, /KEYS_PASSPHRASE does not open the key-encryption key/, `names the problem: ${output.trim()}`)
    t.notOk(output.includes('the wrong passphrase'), 'without echoing the passphrase')
    const server = await startServer(t, main, { ...env, KEYS_PASSPHRASE: PASSPHRASE })
    t.equal((await jwksKids(server.issuer)).length, 2, 'the right passphrase starts the server')
  })
})

// An operator who adds KEYS_PASSPHRASE to an existing install expects the file to be protected.
t.test('setting KEYS_PASSPHRASE on an install with an unprotected kek.json does not leave the raw key on disk', async (t) => {
  const ctx = await app(t, {})
  const dir = ctx.deps.config.keysDir
  const config = loadConfig({ DATABASE_URL: ctx.databaseUrl, KEYS_DIR: dir, KEYS_PASSPHRASE: PASSPHRASE, LOG_LEVEL: 'silent' })
  const started = await createDeps(config, { log: pino({ level: 'silent' }) }).then(
    async (deps) => {
      await closeDeps(deps)
      return true
    },
    () => false,
  )
  const content = JSON.parse(fs.readFileSync(path.join(dir, 'kek.json'), 'utf8')) as Record<string, unknown>
  t.ok(!started || !('kek' in content), `startup ${started ? 'succeeded' : 'failed'}; kek.json ${'kek' in content ? 'still holds the plaintext key' : 'is sealed'}`)
})

t.test('signing keys are encrypted at rest and bound to the KEK', async (t) => {
  const ctx = await app(t, {})
  await ctx.deps.keys.rotate({ immediately: true })
  const { keys } = await ctx.deps.repos.signingKeys.load()
  const kek = loadOrCreateKek(ctx.deps.config.keysDir, null)
  const dbBytes = Buffer.concat(fs.readdirSync(ctx.dir).filter((name) => name.startsWith('idp.db')).map((name) => fs.readFileSync(path.join(ctx.dir, name))))
  for (const key of keys) {
    t.match(key.sealedPrivateKey, /^v1\./, `${key.kid}: stored as an AES-GCM envelope`)
    const der = openEnvelope(kek, key.sealedPrivateKey, key.kid)
    const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })
    t.equal(jwk.n, (JSON.parse(key.publicJwk) as { n: string }).n, 'the envelope holds the private half of the published key')
    t.equal(dbBytes.indexOf(der), -1, 'the PKCS#8 bytes are not in the database files')
    for (const text of [der.toString('base64'), der.toString('base64url'), jwk.d!]) t.equal(dbBytes.indexOf(Buffer.from(text.slice(0, 64))), -1, 'nor any text encoding of them')
    t.throws(() => openEnvelope(kek, key.sealedPrivateKey, 'another-kid'), 'an envelope moved to another row does not open')
  }

  // A lost or replaced kek.json: startup must stop, saying why, rather than sign with nothing.
  const elsewhere = path.join(ctx.dir, 'other-keys')
  const config = loadConfig({ DATABASE_URL: ctx.databaseUrl, KEYS_DIR: elsewhere, LOG_LEVEL: 'silent' })
  await t.rejects(createDeps(config, { log: pino({ level: 'silent' }) }), { name: 'KeyStoreError', message: /cannot decrypt signing key .*wrong key-encryption key/ })
})
