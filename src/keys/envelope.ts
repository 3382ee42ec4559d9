import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * AES-256-GCM with a random 96-bit IV. The associated data binds a ciphertext to what it belongs
 * to (a key's kid), so swapping ciphertexts between rows fails authentication.
 * Format: v1.<iv>.<tag>.<ciphertext>, base64url parts.
 */
export function sealEnvelope(key: Buffer, plaintext: Buffer, associatedData: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(associatedData, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return ['v1', iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.')
}

export function openEnvelope(key: Buffer, sealed: string, associatedData: string): Buffer {
  const [version, iv, tag, ciphertext] = sealed.split('.')
  if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined) throw new Error('unknown envelope format')
  const ivBytes = Buffer.from(iv, 'base64url')
  const tagBytes = Buffer.from(tag, 'base64url')
  // Full-length IV and tag only: GCM would otherwise accept truncated (forgeable) tags.
  if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error('malformed envelope')
  const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 })
  decipher.setAAD(Buffer.from(associatedData, 'utf8'))
  decipher.setAuthTag(tagBytes)
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
}
