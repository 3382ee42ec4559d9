/**
 * The whole configuration of Tessera: one description, one loader. Only this folder reads
 * process.env; everything else receives the frozen Config object.
 */
import { ConfigError, FieldProblem, duration, integer, oneOf, optionalDuration, secret, text, type Field } from './fields.js'
import { parseIssuer, parseDatabaseUrl, type DatabaseLocation } from './urls.js'
import { availableParallelism } from 'node:os'

/** WORKERS: `auto` is one process per core; a number is taken as given (1 = no cluster). */
export function parseWorkers(raw: string, cores: number): number {
  const value = raw.trim().toLowerCase()
  if (value === 'auto') return Math.max(1, cores)
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 64) throw new FieldProblem('must be auto or a whole number from 1 to 64')
  return Number(value)
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const configFields = {
  port: integer('PORT', 3000, 'TCP port the server listens on', 0, 65535),
  host: text('HOST', '0.0.0.0', 'Interface the server binds to'),
  workers: {
    env: 'WORKERS',
    doc: 'Server processes sharing the port (node:cluster): a number, or auto for one per CPU core. They share the database; per-IP rate limits count per process',
    defaultText: '1',
    parse: (raw) => parseWorkers(raw ?? '1', availableParallelism()),
  } satisfies Field<number>,
  issuer: {
    env: 'ISSUER',
    doc: 'Public base URL; every URL in discovery, tokens and mail is built from it (never from request headers). https required unless the host is localhost or 127.0.0.1',
    defaultText: 'http://localhost:$PORT',
    // With no ISSUER and a bad PORT, only PORT is reported (the default issuer cannot be built).
    parse: (raw, parsed) => (raw === undefined && typeof parsed['port'] !== 'number' ? '' : parseIssuer(raw ?? `http://localhost:${String(parsed['port'])}`)),
  } satisfies Field<string>,
  database: {
    env: 'DATABASE_URL',
    doc: 'sqlite:./relative.db, sqlite:/absolute/path.db or postgres://user:pass@host/db',
    defaultText: 'sqlite:./data/idp.db',
    parse: (raw) => parseDatabaseUrl(raw ?? 'sqlite:./data/idp.db'),
  } satisfies Field<DatabaseLocation>,
  keysDir: text('KEYS_DIR', './keys', 'Directory holding the key-encryption key (mode 0700, file 0600)'),
  keysPassphrase: secret('KEYS_PASSPHRASE', 'Optional passphrase that encrypts the key-encryption key file at rest'),
  keySize: oneOf('KEY_SIZE', '2048', ['2048', '3072', '4096'] as const, 'RSA modulus length of new signing keys'),
  keyRotationInterval: optionalDuration('KEY_ROTATION_INTERVAL', 'off', 'Rotate signing keys automatically this often (e.g. 30d); off disables'),
  retiredKeys: oneOf('RETIRED_KEYS', 'delete', ['delete', 'archive'] as const, 'What happens to a retired key once every token it signed has expired: delete it, or archive its public part (never published again)'),
  keyRefreshInterval: duration('KEY_REFRESH_INTERVAL', '5s', 'How often a running server re-reads the key store to pick up rotations'),
  jwksMaxAge: duration('JWKS_MAX_AGE', '5m', 'Cache-Control max-age of the JWKS document'),
  logLevel: oneOf('LOG_LEVEL', 'info', LOG_LEVELS, 'pino log level'),
  accessTokenTtl: duration('ACCESS_TOKEN_TTL', '10m', 'Lifetime of JWT access tokens (at most 1h)', 3600),
  accessTokenAudience: text('ACCESS_TOKEN_AUDIENCE', '', 'aud of access tokens; default: the issuer URL'),
  idTokenTtl: duration('ID_TOKEN_TTL', '1h', 'Lifetime of ID tokens'),
  refreshTokenTtl: duration('REFRESH_TOKEN_TTL', '30d', 'Absolute lifetime of a refresh-token family (from the original login)'),
  refreshTokenIdleTtl: duration('REFRESH_TOKEN_IDLE_TTL', '14d', 'A refresh token unused this long dies'),
  codeTtl: duration('CODE_TTL', '60s', 'Lifetime of authorization codes (at most 60s)', 60),
  sessionTtl: duration('SESSION_TTL', '24h', 'Absolute lifetime of a login session'),
  sessionIdleTtl: duration('SESSION_IDLE_TTL', '2h', 'A login session unused this long ends'),
  interactionTtl: duration('INTERACTION_TTL', '10m', 'How long a login page stays valid'),
  pruneInterval: duration('PRUNE_INTERVAL', '10m', 'How often expired codes, sessions, tokens and denylist rows are deleted'),
  auditRetention: duration('AUDIT_RETENTION', '90d', 'How long security events stay in audit_events (idp audit)'),
  clockSkew: duration('CLOCK_SKEW', '60s', 'Clock-skew allowance added to key retirement windows'),
  loginRateLimit: integer('LOGIN_RATE_LIMIT', 10, 'Login attempts per IP address per minute', 1, 100000),
  loginAccountRateLimit: integer('LOGIN_ACCOUNT_RATE_LIMIT', 10, 'Failed logins per account (email as typed, known or not) within 15 minutes before it is blocked for 1, 2, 4… minutes; twice as many per IP address', 1, 100000),
  tokenRateLimit: integer('TOKEN_RATE_LIMIT', 300, 'Token-endpoint requests per IP address per minute', 1, 1000000),
  signup: oneOf('SIGNUP', 'on', ['on', 'off'] as const, 'Self-service signup at /signup: on or off (operators then add users with the CLI)'),
  signupRateLimit: integer('SIGNUP_RATE_LIMIT', 10, 'Signups per IP address per 10 minutes', 1, 100000),
  forgotPasswordRateLimit: integer('FORGOT_PASSWORD_RATE_LIMIT', 10, 'Password-reset requests per IP address per 10 minutes', 1, 100000),
  forgotPasswordAccountRateLimit: integer('FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT', 3, 'Password-reset requests per account (email as typed) per 15 minutes', 1, 100000),
  emailVerificationTtl: duration('EMAIL_VERIFICATION_TTL', '24h', 'Lifetime of an email-verification link'),
  passwordResetTtl: duration('PASSWORD_RESET_TTL', '30m', 'Lifetime of a password-reset link (at most 30m)', 1800),
  argon2MemoryCost: integer('ARGON2_MEMORY_COST', 19456, 'argon2id memory in KiB (OWASP minimum 19456); changing it rehashes passwords at their next login', 19456, 4194304),
  argon2TimeCost: integer('ARGON2_TIME_COST', 2, 'argon2id iterations (at least 2)', 2, 100),
  argon2Parallelism: integer('ARGON2_PARALLELISM', 1, 'argon2id lanes', 1, 16),
  smtpUrl: secret('SMTP_URL', 'Mail server, e.g. smtp://user:pass@mail.example:587 (smtps:// for TLS on connect); without it mails go to the log (development) or nowhere, with a warning (production)'),
  mailFrom: text('MAIL_FROM', '', 'Sender of account mails; default: Tessera <no-reply@ISSUER host>'),
  trustProxy: text('TRUST_PROXY', '', 'Address or CIDR of a trusted reverse proxy; only then is X-Forwarded-For used for the client IP'),
  nodeEnv: text('NODE_ENV', 'development', 'production or development. Only mail differs: without SMTP_URL, development writes mails (with their links) to the log; production never logs them and warns at start'),
} as const

type Fields = typeof configFields
export type Config = { readonly [K in keyof Fields]: ReturnType<Fields[K]['parse']> }

/** Parses every variable, reports every problem at once, and returns a frozen Config. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, field] of Object.entries(configFields) as [string, Field<unknown>][]) {
    try {
      parsed[key] = field.parse(env[field.env], parsed)
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error
      problems.push(`${field.env}: ${error.message}`)
    }
  }
  const interval = parsed['keyRotationInterval'] as number | null | undefined
  const maxAge = parsed['jwksMaxAge'] as number | undefined
  // SECURITY.md §F: a next key must be published longer than caches keep the JWKS.
  if (typeof interval === 'number' && typeof maxAge === 'number' && interval <= maxAge) {
    problems.push(`KEY_ROTATION_INTERVAL: must be longer than JWKS_MAX_AGE (${maxAge}s)`)
  }
  const refresh = parsed['keyRefreshInterval'] as number | undefined
  const skew = parsed['clockSkew'] as number | undefined
  // A server may sign with a just-retired key until its next refresh; the retention window's
  // clock-skew allowance must cover that.
  if (typeof refresh === 'number' && typeof skew === 'number' && refresh > skew) {
    problems.push(`KEY_REFRESH_INTERVAL: must not exceed CLOCK_SKEW (${skew}s)`)
  }
  const database = parsed['database'] as DatabaseLocation | undefined
  // Each worker would open its own private in-memory database.
  if (typeof parsed['workers'] === 'number' && parsed['workers'] > 1 && database?.dialect === 'sqlite' && database.file === ':memory:') {
    problems.push('WORKERS: an in-memory SQLite database cannot be shared by several workers; use a file or PostgreSQL')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(parsed) as Config
}

/** RFC 9068: access tokens name their audience; by default Tessera itself (its userinfo). */
export function accessTokenAudience(config: Config): string {
  return config.accessTokenAudience || config.issuer
}

export const isProduction = (config: Config): boolean => config.nodeEnv === 'production'

/** The From header of account mails. */
export function mailSender(config: Config): string {
  return config.mailFrom || `Tessera <no-reply@${new URL(config.issuer).hostname}>`
}

export { ConfigError }
