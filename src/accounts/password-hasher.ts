/** Passwords behind a tiny interface over argon2id (OWASP: m ≥ 19 MiB, t ≥ 2, p = 1). */
import { availableParallelism } from 'node:os'
import argon2 from 'argon2'

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
  needsRehash(hash: string): boolean
  /** Releases what the hasher holds (its process, for the background hasher). */
  close?(): Promise<void>
  /** Hashes running and waiting for a slot now (metrics). */
  load?(): HasherLoad
}

export interface HasherLoad {
  readonly running: number
  readonly waiting: number
}

export interface Argon2Parameters {
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

export const DEFAULT_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

/** Longest password accepted; longer input is refused before any hashing work (DoS guard). */
export const MAX_PASSWORD_LENGTH = 1024

/** At most `limit` operations at once; the rest wait their turn, first come first served. */
export function concurrencyLimit(limit: number): (<T>(task: () => Promise<T>) => Promise<T>) & { load(): HasherLoad } {
  let running = 0
  const waiting: (() => void)[] = []
  const limited = async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    else running++
    try {
      return await task()
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
  return Object.assign(limited, { load: (): HasherLoad => ({ running, waiting: waiting.length }) })
}

/**
 * In this process, on libuv's thread pool (4 threads), which WebCrypto signing shares: one hash
 * per core at a time, so the pool keeps free threads. The server uses the background hasher
 * (hasher-process.ts) instead; this one is for tools and tests that hash a few passwords.
 */
const HASHES_AT_ONCE = Math.max(1, Math.min(availableParallelism(), 3))

export function argon2idHasher(parameters: Argon2Parameters = DEFAULT_ARGON2): PasswordHasher {
  const options = { type: argon2.argon2id as 0 | 1 | 2, ...parameters }
  const limited = concurrencyLimit(HASHES_AT_ONCE)
  return {
    hash: (password) => limited(() => argon2.hash(password, options)),
    verify: (hash, password) =>
      limited(async () => {
        try {
          return await argon2.verify(hash, password)
        } catch {
          return false
        }
      }),
    needsRehash: (hash) => argon2.needsRehash(hash, options),
    load: limited.load,
  }
}
