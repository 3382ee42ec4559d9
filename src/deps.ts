/**
 * Everything the app needs, built once and passed down explicitly: no module-level singletons.
 * Tests build their own with a fake clock and a temporary database.
 */
import type { Logger } from 'pino'
import { hkdfSync, randomBytes } from 'node:crypto'
import { createDpopVerifier, type DpopVerifier } from './dpop/proofs.js'
import { VerifiedTokenCache } from './tokens/verified-tokens.js'
import type { Config } from './config/config.js'
import { systemClock, type Clock } from './clock.js'
import { openStore, type Store } from './db/store.js'
import { collisionWarning, emailCollisions } from './accounts/email-collisions.js'
import type { Repositories } from './db/repositories.js'
import { SecurityEvents } from './audit.js'
import { createMailOutbox } from './mail/create.js'
import type { MailOutbox } from './mail/outbox.js'
import { Outbox, type OutboxPolicy } from './outbox/outbox.js'
import type { RetrySchedule } from './outbox/retry.js'
import { accountMailBuilder, type AccountMail } from './accounts/account-mail.js'
import { WEBHOOK_CACHE_MS, WebhookPublisher } from './webhooks/publisher.js'
import { webhookHandler } from './webhooks/delivery.js'
import { backchannelLogoutHandler } from './sessions/backchannel-logout.js'
import type { PasswordHasher } from './accounts/password-hasher.js'
import { backgroundArgon2Hasher } from './accounts/hasher-process.js'
import { loadOrCreateKek } from './keys/kek.js'
import { KeyStore } from './keys/key-store.js'
import { createLogger } from './logger.js'
import { createClientDirectory, type ClientDirectory } from './clients/directory.js'
import type { Metrics } from './metrics/metrics.js'
import { readCatalogues } from './i18n/catalogue.js'
import { createClientLogos, type ClientLogos } from './clients/client-logo.js'
import { createI18n, type I18n } from './i18n/translator.js'
import { withThemeMessages } from './i18n/theme-messages.js'
import type { ActiveTrace } from './http/request-context.js'
import { joseSigner, type JwtSigner } from './tokens/sign.js'
import { SigningThreads } from './tokens/signing-threads.js'

export type { Repositories }

export interface Deps {
  readonly config: Config
  /** The database: repositories, health, pruning, closing (db/store.ts). */
  readonly store: Store
  /** The store's repositories (store.repos), the way most code reaches storage. */
  readonly repos: Repositories
  readonly keys: KeyStore
  /** Signs every JWT Tessera issues (SIGNING_THREADS). */
  readonly signer: JwtSigner
  readonly hasher: PasswordHasher
  /** Verified against for unknown emails so login timing does not reveal accounts (made on first use). */
  readonly dummyHash: () => Promise<string>
  /** HMAC key for anti-forgery tokens, derived from the KEK so every instance shares it. */
  readonly formKey: Buffer
  /** HMAC key of signed cookies (the device cookie), derived from the KEK like formKey. */
  readonly cookieKey: Buffer
  /** AES-256-GCM key sealing authenticator-app secrets, derived from the KEK like formKey. */
  readonly factorKey: Buffer
  /** AES-256-GCM key sealing upstream client secrets and kept upstream tokens, derived from the KEK. */
  readonly upstreamKey: Buffer
  /** AES-256-GCM key sealing the admin API's remembered responses (idempotency keys), derived from the KEK. */
  readonly replayKey: Buffer
  /** HMAC-SHA256 key of refresh tokens (tokens/refresh.ts), derived from the KEK. */
  readonly refreshTokenKey: Buffer
  /** Clients by client_id: registered ones, and client ID metadata documents fetched from their URL. */
  readonly clients: ClientDirectory
  /** DPoP proofs (RFC 9449): verification, the shared replay cache and server nonces. */
  readonly dpop: DpopVerifier
  /** Access tokens this process verified recently, so the same bytes are not verified again (tokens/verified-tokens.ts). */
  readonly verifiedTokens: VerifiedTokenCache
  /** Account mail: stored in the outbox (kind `mail`), sent after the request that caused it by any instance. */
  readonly mail: MailOutbox<AccountMail>
  /** AES-256-GCM key sealing webhook signing secrets, derived from the KEK. */
  readonly webhookKey: Buffer
  /** Turns security events into webhook deliveries (outbox kind `webhook`); caches the webhook list briefly. */
  readonly webhooks: WebhookPublisher
  /**
   * Durable jobs done after the request that caused them (back-channel logout tokens, mail,
   * webhook deliveries): stored in
   * the database, run by every serving process's worker (outbox.start()), retried with backoff.
   */
  readonly outbox: Outbox
  /** Security events: logged and stored in audit_events. */
  readonly audit: SecurityEvents
  /** The words of pages and mails in every supported language (i18n/), read once at start. */
  readonly i18n: I18n
  /** Client logos fetched from their logo_uri and served from this origin (clients/client-logo.ts). */
  readonly clientLogos: ClientLogos
  readonly clock: Clock
  readonly log: Logger
  /** Prometheus metrics, only when METRICS_PORT is set (metrics/metrics.ts); absent, nothing is measured. */
  readonly metrics?: Metrics | undefined
  /** OpenTelemetry tracing, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: the current trace id for the logs. */
  readonly tracing?: ActiveTrace | undefined
}

export interface DepsOverrides {
  readonly clock?: Clock
  readonly log?: Logger
  readonly hasher?: PasswordHasher
  readonly signer?: JwtSigner
  /** How mail deliveries are retried (tests retry at once, a few times). */
  readonly mailRetry?: Partial<RetrySchedule>
  /** How long the list of webhooks is reused, in milliseconds (tests: 0, to see other processes' changes at once). */
  readonly webhookCacheMs?: number
  /** Outbox worker timing (tests poll often and retry sooner). */
  readonly outbox?: Partial<OutboxPolicy>
  readonly metrics?: Metrics | undefined
  readonly tracing?: ActiveTrace | undefined
}

/** Longest-lived token we sign, plus skew: how long a retired key must stay published. */
export const keyRetentionSeconds = (config: Config): number => Math.max(config.accessTokenTtl, config.idTokenTtl) + config.clockSkew

/** Opens the database, applies migrations, loads (or creates) the signing keys. */
export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const clock = overrides.clock ?? systemClock
  const log = overrides.log ?? createLogger(config)
  const hasher =
    overrides.hasher ??
    backgroundArgon2Hasher({ memoryCost: config.argon2MemoryCost, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism })
  const { metrics } = overrides
  const store = await openStore(config.database, metrics ? { onQuery: metrics.query } : {})
  try {
    const { repos } = store
    // Only after migrations ran (an upgrade): accounts left apart by the canonical-email migration.
    if (store.migrated.applied.length > 0) {
      const warning = collisionWarning(emailCollisions(await repos.users.list()))
      if (warning !== null) log.warn({ event: 'email_collisions' }, warning)
    }
    // The outbox comes first: every security event from here on (the key store's first keys
    // included) may queue webhook deliveries in it.
    const outbox = new Outbox({ repository: repos.outbox, clock, log, ...(overrides.outbox ? { policy: overrides.outbox } : {}) })
    const webhooks = new WebhookPublisher({ webhooks: repos.webhooks, outbox, log, cacheMs: overrides.webhookCacheMs ?? WEBHOOK_CACHE_MS })
    const audit = new SecurityEvents(repos.auditEvents, log, clock, (event) => {
      metrics?.securityEvent(event.type)
      return webhooks.onSecurityEvent(event)
    })
    const kek = loadOrCreateKek(config.keysDir, config.keysPassphrase)
    const webhookKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera webhook secrets', 32))
    outbox.register(webhookHandler({ repos, clock, audit, webhookKey }))
    const formKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera form tokens', 32))
    const cookieKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera signed cookies', 32))
    const factorKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera second factors', 32))
    const upstreamKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera upstream secrets', 32))
    const replayKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera idempotent responses', 32))
    const refreshTokenKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera refresh tokens', 32))
    const keys = new KeyStore({
      repository: repos.signingKeys,
      kek,
      clock,
      policy: {
        retentionSeconds: keyRetentionSeconds(config),
        rotationIntervalSeconds: config.keyRotationInterval,
        removal: config.retiredKeys,
        minPublishedSeconds: config.jwksMaxAge,
        minPromotionAgeSeconds: config.keyRefreshInterval + config.clockSkew,
      },
      modulusLength: Number(config.keySize),
      log,
      events: audit,
    })
    await keys.initialise()
    let dummy: Promise<string> | undefined
    // A failed attempt (the hashing process was restarting) is not kept: the next login tries again.
    const dummyHash = () =>
      (dummy ??= hasher.hash(randomBytes(16).toString('base64url')).catch((error: unknown) => {
        dummy = undefined
        throw error
      }))
    const i18n = createI18n(withThemeMessages(readCatalogues(), config.theme?.messages), config.defaultLocale)
    const mail = createMailOutbox<AccountMail>(
      config,
      log,
      outbox,
      accountMailBuilder({ config, repos, clock, audit, i18n }),
      overrides.mailRetry,
    )
    const signer = overrides.signer ?? (config.signingThreads > 0 ? new SigningThreads(config.signingThreads, log) : joseSigner)
    outbox.register(backchannelLogoutHandler({ config, repos, keys, signer, clock, audit }))
    const clients = createClientDirectory({ repos, config, clock, audit })
    const dpopNonceKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tessera dpop nonces', 32))
    const dpop = createDpopVerifier({ config, clock, repos }, dpopNonceKey)
    metrics?.watch({ hasher, pool: store.poolUse, keys, outbox: repos.outbox, clock, log })
    const clientLogos = createClientLogos({ repos, clock, config, log })
    return {
      config,
      store,
      repos,
      keys,
      signer,
      hasher,
      dummyHash,
      formKey,
      cookieKey,
      factorKey,
      upstreamKey,
      replayKey,
      refreshTokenKey,
      clients,
      dpop,
      verifiedTokens: new VerifiedTokenCache(),
      mail,
      webhookKey,
      webhooks,
      outbox,
      audit,
      i18n,
      clientLogos,
      clock,
      log,
      metrics,
      tracing: overrides.tracing,
    }
  } catch (error) {
    await store.close()
    await hasher.close?.()
    throw error
  }
}

/**
 * Releases what createDeps opened and resolves once all of it is closed: the hashing process has
 * exited, the signing threads have ended, the database is closed. Every part is closed even when
 * another fails; the first failure is then thrown.
 */
export async function closeDeps(deps: Deps): Promise<void> {
  deps.keys.stop()
  const results = await Promise.allSettled([
    // The hashing process needs nothing else: it stops while the mail drains.
    (async () => deps.hasher.close?.())(),
    // Queued mail may still need the database (a reset link is issued when its mail is built), and
    // so do the outbox jobs in flight (their outcome is recorded); a back-channel logout in flight
    // still signs its logout token.
    (async () => {
      const drained = await Promise.allSettled([deps.mail.close(), deps.outbox.close(), deps.clientLogos.idle()])
      await Promise.all([deps.store.close(), deps.signer.close()])
      const failed = drained.find((result): result is PromiseRejectedResult => result.status === 'rejected')
      if (failed) throw failed.reason
    })(),
  ])
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failure) throw failure.reason
}
