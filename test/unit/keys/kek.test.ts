import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { KeyStoreError, loadOrCreateKek } from '../../../src/keys/kek.js'
import { tempDir } from '../../helpers/test-app.js'

const mode = (file: string) => fs.statSync(file).mode & 0o777

function scratch(t: Test): string {
  const dir = tempDir('tessera-kek-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('creates the directory (0700) and the file (0600) on first use', async (t) => {
  const keysDir = path.join(scratch(t), 'nested', 'keys')
  const kek = loadOrCreateKek(keysDir, null)
  t.equal(kek.length, 32, '256-bit key')
  t.equal(mode(keysDir), 0o700)
  const file = path.join(keysDir, 'kek.json')
  t.equal(mode(file), 0o600)
  const content = JSON.parse(fs.readFileSync(file, 'utf8'))
  t.equal(content.version, 1)
  t.same(Buffer.from(content.kek, 'base64url'), kek)
})

t.test('reuses an existing file', async (t) => {
  const keysDir = scratch(t)
  const first = loadOrCreateKek(keysDir, null)
  const second = loadOrCreateKek(keysDir, null)
  t.same(second, first)
})

t.test('tightens permissions of an existing directory and file', async (t) => {
  const keysDir = scratch(t)
  loadOrCreateKek(keysDir, null)
  fs.chmodSync(keysDir, 0o755)
  fs.chmodSync(path.join(keysDir, 'kek.json'), 0o644)
  loadOrCreateKek(keysDir, null)
  t.equal(mode(keysDir), 0o700)
  t.equal(mode(path.join(keysDir, 'kek.json')), 0o600)
})

t.test('KEYS_PASSPHRASE protects the file', async (t) => {
  const keysDir = scratch(t)
  const kek = loadOrCreateKek(keysDir, 'correct horse')
  t.equal(kek.length, 32)
  const raw = fs.readFileSync(path.join(keysDir, 'kek.json'), 'utf8')
  const content = JSON.parse(raw)
  t.notOk('kek' in content, 'no clear-text key in the file')
  t.type(content.sealed, 'string')
  t.type(content.salt, 'string')
  t.notOk(raw.includes(kek.toString('base64url')), 'the KEK does not appear in the file')
  t.same(loadOrCreateKek(keysDir, 'correct horse'), kek, 'the right passphrase opens it')
  t.throws(() => loadOrCreateKek(keysDir, 'wrong horse'), KeyStoreError, 'a wrong passphrase fails')
  t.throws(() => loadOrCreateKek(keysDir, null), { name: 'KeyStoreError', message: /KEYS_PASSPHRASE/ }, 'a missing passphrase fails')
  t.throws(() => loadOrCreateKek(keysDir, 'Correct horse'), KeyStoreError, 'case matters')
})

t.test('corrupt files fail with KeyStoreError', async (t) => {
  const keysDir = scratch(t)
  const file = path.join(keysDir, 'kek.json')
  fs.writeFileSync(file, 'not json', { mode: 0o600 })
  t.throws(() => loadOrCreateKek(keysDir, null), KeyStoreError, 'not JSON')
  fs.writeFileSync(file, JSON.stringify({ version: 1, kek: Buffer.alloc(16).toString('base64url') }))
  t.throws(() => loadOrCreateKek(keysDir, null), { name: 'KeyStoreError', message: /wrong length/ }, 'short key')
  fs.writeFileSync(file, JSON.stringify({ version: 1 }))
  t.throws(() => loadOrCreateKek(keysDir, null), KeyStoreError, 'neither kek nor sealed')
  t.equal(fs.readFileSync(file, 'utf8'), JSON.stringify({ version: 1 }), 'an existing file is never overwritten')
})

t.test('KeyStoreError messages never contain the key', async (t) => {
  const keysDir = scratch(t)
  const kek = loadOrCreateKek(keysDir, 'pass')
  const error = t.throws(() => loadOrCreateKek(keysDir, 'nope')) as Error
  t.notOk(error.message.includes(kek.toString('base64url')))
  t.notOk(error.message.includes('nope'), 'nor the passphrase')
})
