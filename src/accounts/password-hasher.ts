/** Passwords behind a tiny interface over argon2id (OWASP: m ≥ 19 MiB, t ≥ 2, p = 1). */
import argon2 from 'argon2'

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
  needsRehash(hash: string): boolean
}

export interface Argon2Parameters {
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

export const DEFAULT_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

/** Longest password accepted; longer input is refused before any hashing work (DoS guard). */
export const MAX_PASSWORD_LENGTH = 1024

export function argon2idHasher(parameters: Argon2Parameters = DEFAULT_ARGON2): PasswordHasher {
  const options = { type: argon2.argon2id as 0 | 1 | 2, ...parameters }
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password)
      } catch {
        return false
      }
    },
    needsRehash: (hash) => argon2.needsRehash(hash, options),
  }
}
