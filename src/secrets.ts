import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A 256-bit random value, base64url: codes, refresh tokens, session ids, client secrets. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * Random identifiers that are not secrets (client ids, user ids, jti). Never beginning with "-":
 * an id is typed as a command-line argument (`idp clients rotate-secret ID`), where a leading dash
 * reads as an option. Drawn again in that case (1 in 64), so every id stays uniformly random.
 */
export function randomId(bytes = 16): string {
  for (;;) {
    const id = randomBytes(bytes).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/**
 * Secrets we issue are high-entropy, so a plain SHA-256 is the right stored form: only the hash
 * is kept, and a database leak reveals nothing usable.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret))
  const b = Buffer.from(storedHash)
  return a.length === b.length && timingSafeEqual(a, b)
}
