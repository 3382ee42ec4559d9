/**
 * Everything the app needs, built once and passed down explicitly: no module-level singletons.
 * Tests build their own with a fake clock and a temporary database.
 */
import type { Logger } from 'pino'
import { hkdfSync, randomBytes } from 'node:crypto'
import type { Config } from './config/config.js'
import { systemClock, type Clock } from './clock.js'
import { connectDatabase, migrationLockFile, type Db } from './db/connect.js'
import { migrateToLatest } from './db/migrate.js'
import { accessTokensRepository } from './db/repositories/access-tokens.js'
import { clientsRepository } from './db/repositories/clients.js'
import { clientAuthenticationRepository } from './db/repositories/client-authentication.js'
import { codesRepository } from './db/repositories/codes.js'
import { consentsRepository } from './db/repositories/consents.js'
import { refreshTokensRepository } from './db/repositories/refresh-tokens.js'
import { grantsRepository } from './db/repositories/grants.js'
import { interactionsRepository } from './db/repositories/interactions.js'
import { sessionsRepository } from './db/repositories/sessions.js'
import { signingKeysRepository } from './db/repositories/signing-keys.js'
import { usersRepository } from './db/repositories/users.js'
import { accountTokensRepository } from './db/repositories/account-tokens.js'
import { auditEventsRepository } from './db/repositories/audit-events.js'
import { throttleCountersRepository } from './db/repositories/throttle-counters.js'
import { SecurityEvents } from './audit.js'
import { createMailOutbox } from './mail/create.js'
import type { MailOutbox } from './mail/outbox.js'
import type { PasswordHasher } from './accounts/password-hasher.js'
import { backgroundArgon2Hasher } from './accounts/hasher-process.js'
import { loadOrCreateKek } from './keys/kek.js'
import { KeyStore } from './keys/key-store.js'
import { createLogger } from './logger.js'

export function createRepositories(db: Db) {
  return {
    clients: clientsRepository(db),
    clientAuthentication: clientAuthenticationRepository(db),
    users: usersRepository(db),
    sessions: sessionsRepository(db),
    interactions: interactionsRepository(db),
    codes: codesRepository(db),
    grants: grantsRepository(db),
    accessTokens: accessTokensRepository(db),
    refreshTokens: refreshTokensRepository(db),
    consents: consentsRepository(db),
    signingKeys: signingKeysRepository(db),
    accountTokens: accountTokensRepository(db),
    auditEvents: auditEventsRepository(db),
    throttleCounters: throttleCountersRepository(db),
  }
}

export type Repositories = ReturnType<typeof createRepositories>

export interface Deps {
  readonly config: Config
  readonly db: Db
  readonly repos: Repositories
  readonly keys: KeyStore
  readonly hasher: PasswordHasher
  /** Verified against for unknown emails so login timing does not reveal accounts (made on first use). */
  readonly dummyHash: () => Promise<string>
  /** HMAC key for anti-forgery tokens, derived from the KEK so every instance shares it. */
  readonly formKey: Buffer
  /** Account mail, sent after the request that caused it (never blocking it). */
  readonly mail: MailOutbox
  /** Security events: logged and stored in audit_events. */
  readonly audit: SecurityEvents
  readonly clock: Clock
  readonly log: Logger
}

export interface DepsOverrides {
  readonly clock?: Clock
  readonly log?: Logger
  readonly hasher?: PasswordHasher
  /** Mail retry delays in milliseconds (tests shorten them). */
  readonly mailRetryDelaysMs?: readonly number[]
}

/** Longest-lived token we sign, plus skew: how long a retired key must stay published. */
export const keyRetentionSeconds = (config: Config): number => Math.max(config.accessTokenTtl, config.idTokenTtl) + config.clockSkew

/** Opens the database, applies migrations, loads (or creates) the signing keys. */
export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const clock = overrides.clock ?? systemClock
  const log = overrides.log ?? createLogger(config)
  const hasher = overrides.hasher ?? backgroundArgon2Hasher({ memoryCost: config.argon2MemoryCost, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism })
  const db = connectDatabase(config.database)
  try {
    await migrateToLatest(db, undefined, migrationLockFile(config.database))
    const repos = createRepositories(db)
    const audit = new SecurityEvents(repos.auditEvents, log, clock)
    const kek = loadOrCreateKek(config.keysDir, config.keysPassphrase)
    const formKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera form tokens', 32))
    const keys = new KeyStore({
      repository: repos.signingKeys,
      kek,
      clock,
      policy: { retentionSeconds: keyRetentionSeconds(config), rotationIntervalSeconds: config.keyRotationInterval, removal: config.retiredKeys, minPublishedSeconds: config.jwksMaxAge },
      modulusLength: Number(config.keySize),
      log,
      events: audit,
    })
    await keys.initialise()
    let dummy: Promise<string> | undefined
    const dummyHash = () => (dummy ??= hasher.hash(randomBytes(16).toString('base64url')))
    const mail = createMailOutbox(config, log, overrides.mailRetryDelaysMs)
    return { config, db, repos, keys, hasher, dummyHash, formKey, mail, audit, clock, log }
  } catch (error) {
    await db.destroy()
    await hasher.close?.()
    throw error
  }
}

export async function closeDeps(deps: Deps): Promise<void> {
  deps.keys.stop()
  // Queued mail may still need the database (a reset link is issued when its mail is built).
  await deps.mail.close()
  await deps.db.destroy()
  await deps.hasher.close?.()
}
