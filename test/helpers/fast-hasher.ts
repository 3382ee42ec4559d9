/**
 * A real argon2id hasher with tiny parameters, for tests about something other than password
 * hashing (throttling makes hundreds of login attempts). Production parameters are never this
 * low: the configuration refuses them (ARGON2_MEMORY_COST ≥ 19456).
 */
import { argon2idHasher, type PasswordHasher } from '../../src/accounts/password-hasher.js'

export const fastHasher = (): PasswordHasher => argon2idHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })
