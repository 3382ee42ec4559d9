/**
 * The key-encryption key (KEK): 256 random bits kept in KEYS_DIR/kek.json. Signing keys live in
 * the database encrypted under it, so one code path serves a single SQLite install and a cluster
 * of instances sharing PostgreSQL (they share the database and this file, or KEYS_KEK).
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes, scryptSync } from 'node:crypto'
import { openEnvelope, sealEnvelope } from './envelope.js'

const KEK_FILE = 'kek.json'

interface KekFile {
  readonly version: 1
  /** Present when no passphrase protects the file. */
  readonly kek?: string
  /** Present when KEYS_PASSPHRASE protects the file: the KEK sealed under scrypt(passphrase, salt). */
  readonly sealed?: string
  readonly salt?: string
}

export class KeyStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'KeyStoreError'
  }
}

const passphraseKey = (passphrase: string, salt: Buffer): Buffer => scryptSync(passphrase, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })

function sealKek(kek: Buffer, passphrase: string): KekFile {
  const salt = randomBytes(16)
  return { version: 1, salt: salt.toString('base64url'), sealed: sealEnvelope(passphraseKey(passphrase, salt), kek, 'tessera-kek') }
}

/** Creates (exclusively: a concurrent creator wins and we read its file) or atomically replaces the file, mode 0600. */
function writeKekFile(file: string, content: KekFile, replace: boolean): void {
  const text = JSON.stringify(content, null, 2) + '\n'
  if (replace) {
    const temporary = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temporary, text, { mode: 0o600, flag: 'w' })
    fs.renameSync(temporary, file)
    return
  }
  try {
    fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

/** Reads the KEK, creating directory (0700) and file (0600) on first start. */
export function loadOrCreateKek(keysDir: string, passphrase: string | null): Buffer {
  fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 })
  fs.chmodSync(keysDir, 0o700)
  const file = path.join(keysDir, KEK_FILE)
  if (!fs.existsSync(file)) {
    const kek = randomBytes(32)
    const content: KekFile = passphrase === null ? { version: 1, kek: kek.toString('base64url') } : sealKek(kek, passphrase)
    writeKekFile(file, content, false)
  }
  fs.chmodSync(file, 0o600)
  return readKek(file, passphrase)
}

/**
 * Reads the KEK of an installation without ever creating one (`idp import`: the sealed data it
 * brings opens only under the exporting installation's KEK, which must have been copied here).
 */
export function loadExistingKek(keysDir: string, passphrase: string | null): Buffer {
  const file = path.join(keysDir, KEK_FILE)
  if (!fs.existsSync(file)) throw new KeyStoreError(`no key-encryption key at ${file}`)
  return readKek(file, passphrase)
}

function readKek(file: string, passphrase: string | null): Buffer {
  let content: KekFile
  try {
    content = JSON.parse(fs.readFileSync(file, 'utf8')) as KekFile
  } catch (error) {
    throw new KeyStoreError(`${file} is not a readable key-encryption key file`, { cause: error })
  }
  if (content.kek !== undefined) {
    const kek = Buffer.from(content.kek, 'base64url')
    if (kek.length !== 32) throw new KeyStoreError(`${file} holds a key of the wrong length`)
    // KEYS_PASSPHRASE set after the file was made: protect the file now rather than ignore it.
    if (passphrase !== null) writeKekFile(file, sealKek(kek, passphrase), true)
    return kek
  }
  if (content.sealed === undefined || content.salt === undefined) throw new KeyStoreError(`${file} has neither kek nor sealed`)
  if (passphrase === null) throw new KeyStoreError(`${file} is passphrase-protected: set KEYS_PASSPHRASE`)
  try {
    return openEnvelope(passphraseKey(passphrase, Buffer.from(content.salt, 'base64url')), content.sealed, 'tessera-kek')
  } catch (error) {
    throw new KeyStoreError('KEYS_PASSPHRASE does not open the key-encryption key', { cause: error })
  }
}
