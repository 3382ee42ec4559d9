/**
 * The whole configuration of Tessera: one description, one loader. Only this folder reads
 * process.env; everything else receives the frozen Config object.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, FieldProblem, duration, integer, oneOf, optionalDuration, secret, text, type Field } from './fields.js'
import { parseIssuer, parseDatabaseUrl, parseSmtpUrl, parseTrustedProxies, type DatabaseLocation } from './urls.js'
import { availableParallelism } from 'node:os'
import { isRoleName } from '../model/user.js'
import { parseMetricsHost, parseMetricsPort, parseOtlpEndpoint } from './observability.js'
import { parseBrandColor, parseBrandLink, parseBrandName, parseLogoUrl, readLogoFile, readTheme, type Theme } from './branding.js'
import { SUPPORTED_LOCALES } from '../i18n/locales.js'
import { buildBrand, type Brand, type LogoFile } from '../branding/brand.js'

/** MFA_REQUIRED_ROLES: role names as `idp users set-roles` accepts them. */
export function parseRoleList(raw: string): readonly string[] {
  const roles = raw
    .split(',')
    .map((role) => role.trim())
    .filter((role) => role !== '')
  const bad = roles.find((role) => !isRoleName(role))
  if (bad !== undefined) throw new FieldProblem(`"${bad}" is not a role name (letters, digits, _ . : - and at most 64 characters)`)
  return Object.freeze([...new Set(roles)])
}

/** WORKERS: `auto` is one process per core; a number is taken as given (1 = no cluster). */
export function parseWorkers(raw: string, cores: number): number {
  const value = raw.trim().toLowerCase()
  if (value === 'auto') return Math.max(1, cores)
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 64)
    throw new FieldProblem('must be auto or a whole number from 1 to 64')
  return Number(value)
}

/**
 * SIGNING_THREADS: `auto` is one thread per core of each process's share, at most 4 (one event loop
 * feeds about two cores of RS256 signatures). The event loop does not fill its own core, and the
 * threads after the first sign only when the first has a queue (tokens/signing-threads.ts), so they
 * use what the loop leaves: `client_credentials` +8% on two cores (bench/CHANGES.md item 18).
 */
export function parseSigningThreads(raw: string, cores: number, workers: number): number {
  const value = raw.trim().toLowerCase()
  if (value === 'auto') return Math.min(4, Math.max(1, Math.floor(cores / workers)))
  if (!/^[0-9]+$/.test(value) || Number(value) > 64) throw new FieldProblem('must be auto or a whole number from 0 to 64')
  return Number(value)
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const configFields = {
  port: integer('PORT', 3000, 'TCP port the server listens on', 0, 65535),
  host: text('HOST', '0.0.0.0', 'Interface the server binds to'),
  workers: {
    env: 'WORKERS',
    doc: 'Server processes sharing the port (`node:cluster`): a number, or `auto` for one per CPU core. They share the database (SQLite in WAL mode is safe across processes on one machine); the flood guards below count per process',
    defaultText: '1',
    parse: (raw) => parseWorkers(raw ?? '1', availableParallelism()),
  } satisfies Field<number>,
  signingThreads: {
    env: 'SIGNING_THREADS',
    doc: "Threads of each server process that sign tokens: a number, `auto` (one per core of each process's share of the cores, at least 1 and at most 4), or 0 to sign on libuv's shared pool (jose). See [bench/CHANGES.md](bench/CHANGES.md) items 11 and 18",
    defaultText: 'auto',
    parse: (raw, parsed) =>
      parseSigningThreads(raw ?? 'auto', availableParallelism(), typeof parsed['workers'] === 'number' ? parsed['workers'] : 1),
  } satisfies Field<number>,
  issuer: {
    env: 'ISSUER',
    doc: 'Public base URL; every URL in discovery, tokens and mail is built from it (never from request headers). https required unless the host is `localhost` or `127.0.0.1`',
    defaultText: 'http://localhost:$PORT',
    // With no ISSUER and a bad PORT, only PORT is reported (the default issuer cannot be built).
    parse: (raw, parsed) =>
      raw === undefined && typeof parsed['port'] !== 'number' ? '' : parseIssuer(raw ?? `http://localhost:${String(parsed['port'])}`),
  } satisfies Field<string>,
  database: {
    env: 'DATABASE_URL',
    doc: '`sqlite:./relative.db`, `sqlite:/absolute/path.db` or `postgres://user:pass@host/db`',
    defaultText: 'sqlite:./data/idp.db',
    fromFile: true,
    parse: (raw) => parseDatabaseUrl(raw ?? 'sqlite:./data/idp.db'),
  } satisfies Field<DatabaseLocation>,
  keysDir: text('KEYS_DIR', './keys', 'Directory holding the key-encryption key (mode 0700, file 0600)'),
  keysPassphrase: secret('KEYS_PASSPHRASE', 'Optional passphrase that encrypts the key-encryption key file at rest'),
  keySize: oneOf('KEY_SIZE', '2048', ['2048', '3072', '4096'] as const, 'RSA modulus length of new signing keys (`2048`, `3072`, `4096`)'),
  keyRotationInterval: optionalDuration(
    'KEY_ROTATION_INTERVAL',
    'off',
    'Rotate signing keys automatically this often (e.g. `30d`); must exceed `JWKS_MAX_AGE`',
  ),
  retiredKeys: oneOf(
    'RETIRED_KEYS',
    'delete',
    ['delete', 'archive'] as const,
    'When every token a retired key signed has expired: `delete` it, or `archive` its public part (never published again)',
  ),
  keyRefreshInterval: duration('KEY_REFRESH_INTERVAL', '5s', 'How often a running server re-reads the key store to pick up rotations'),
  jwksMaxAge: duration('JWKS_MAX_AGE', '5m', '`Cache-Control: max-age` of the JWKS document'),
  logLevel: oneOf(
    'LOG_LEVEL',
    'info',
    LOG_LEVELS,
    'pino log level (`fatal` … `trace`, `silent`). `info` logs every request; above it (`warn` …), discovery and the JWKS are answered before routing (bench/CHANGES.md item 15)',
  ),
  metricsPort: {
    env: 'METRICS_PORT',
    doc: 'Prometheus metrics at `/metrics` on a listener of their own (never on `PORT`): a port number, or `off`. With `WORKERS` > 1 the first process serves the figures of every worker (see [Metrics and tracing](#metrics-and-tracing))',
    defaultText: 'off',
    parse: (raw, parsed) => parseMetricsPort(raw, parsed['port']),
  } satisfies Field<number | null>,
  metricsHost: {
    env: 'METRICS_HOST',
    doc: 'Interface the metrics listener binds to (an IP address or `localhost`); open it to your Prometheus only',
    defaultText: '127.0.0.1',
    parse: (raw) => parseMetricsHost(raw),
  } satisfies Field<string>,
  otlpEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    doc: 'OpenTelemetry tracing: base URL of an OTLP/HTTP collector (spans are posted as JSON to `/v1/traces` under it). Unset, tracing is off and its packages are not loaded. The standard `OTEL_*` variables (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`…) apply',
    defaultText: '(none)',
    parse: (raw) => parseOtlpEndpoint(raw),
  } satisfies Field<string | null>,
  accessTokenTtl: duration('ACCESS_TOKEN_TTL', '10m', 'Lifetime of JWT access tokens (at most 1h)', 3600),
  accessTokenAudience: {
    ...text(
      'ACCESS_TOKEN_AUDIENCE',
      '',
      '`aud` of access tokens asked for without `resource` (see [Access-token audience](#access-token-audience))',
    ),
    defaultText: 'the issuer URL',
  },
  idTokenTtl: duration('ID_TOKEN_TTL', '1h', 'Lifetime of ID tokens'),
  refreshTokenTtl: duration('REFRESH_TOKEN_TTL', '30d', 'Absolute lifetime of a refresh-token family (from the original login)'),
  refreshTokenIdleTtl: duration('REFRESH_TOKEN_IDLE_TTL', '14d', 'A refresh token unused this long dies'),
  codeTtl: duration('CODE_TTL', '60s', 'Lifetime of authorization codes (at most 60 s)', 60),
  sessionTtl: duration('SESSION_TTL', '24h', 'Absolute lifetime of a login session'),
  sessionIdleTtl: duration('SESSION_IDLE_TTL', '2h', 'A login session unused this long ends'),
  interactionTtl: duration('INTERACTION_TTL', '10m', 'How long a login page stays valid'),
  deviceCodeTtl: duration(
    'DEVICE_CODE_TTL',
    '10m',
    'Lifetime of device codes and their user codes (RFC 8628 device flow; at most 30m)',
    1800,
  ),
  pruneInterval: duration('PRUNE_INTERVAL', '10m', 'How often expired codes, sessions, tokens and denylist rows are deleted'),
  auditRetention: duration('AUDIT_RETENTION', '90d', 'How long security events stay in the `audit_events` table (`idp audit`)'),
  clockSkew: duration('CLOCK_SKEW', '60s', 'Clock-skew allowance added to key retirement windows'),
  loginRateLimit: integer(
    'LOGIN_RATE_LIMIT',
    300,
    'Flood guard: login form posts per client address per minute, per process; browsers with a device cookie for the account are not counted (see [Abuse controls](#abuse-controls))',
    1,
    1000000,
  ),
  loginFailureLimit: integer(
    'LOGIN_FAILURE_LIMIT',
    10,
    'Failed logins within 15 minutes per (account, device cookie), and per (account, address) for browsers without one, before that pair waits 1, 2, 4… minutes',
    1,
    100000,
  ),
  loginAccountFailureLimit: integer(
    'LOGIN_ACCOUNT_FAILURE_LIMIT',
    50,
    'Failed logins within 15 minutes per account from browsers without its device cookie (any address) before such browsers wait; browsers that signed in to it before are never affected',
    1,
    1000000,
  ),
  clientAuthFailureLimit: integer(
    'CLIENT_AUTH_FAILURE_LIMIT',
    10,
    'Failed client authentications within 15 minutes per (client_id, address) before failing requests from there get 429; a correct secret is never refused',
    1,
    100000,
  ),
  ipFailureLimit: integer(
    'IP_FAILURE_LIMIT',
    100,
    'Failures within 15 minutes per address across accounts and clients (logins without a device cookie, client authentications, dead reset links) before that address waits for them',
    1,
    1000000,
  ),
  signup: oneOf(
    'SIGNUP',
    'on',
    ['on', 'off'] as const,
    'Self-service signup at `/signup`: `on` or `off` (operators then add users with the CLI)',
  ),
  signupRateLimit: integer(
    'SIGNUP_RATE_LIMIT',
    100,
    'Flood guard: signups per client address per 10 minutes, per process (and 5 per email address per 15 minutes, counted in the database)',
    1,
    1000000,
  ),
  forgotPasswordRateLimit: integer(
    'FORGOT_PASSWORD_RATE_LIMIT',
    100,
    'Flood guard: password-reset requests and reset-form posts per client address per 10 minutes, per process',
    1,
    1000000,
  ),
  forgotPasswordAccountRateLimit: integer(
    'FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT',
    3,
    'Reset requests per email address within 15 minutes (a browser that signed in to the account before has a quota of its own)',
    1,
    100000,
  ),
  dpopNonce: oneOf(
    'DPOP_NONCE',
    'off',
    ['off', 'on'] as const,
    'DPoP server nonces (RFC 9449 §8): `on` makes every DPoP proof carry a recent nonce from a `DPoP-Nonce` header, so a proof made in advance is useless',
  ),
  requirePar: oneOf(
    'REQUIRE_PAR',
    'off',
    ['off', 'on'] as const,
    'Pushed authorization requests (RFC 9126) for every client: `on` refuses authorization requests that do not come from `/par`',
  ),
  registration: oneOf(
    'REGISTRATION',
    'off',
    ['off', 'token', 'open'] as const,
    'Dynamic client registration (RFC 7591) at `/register`: `off`, `token` (an initial access token from `idp registration token create` is required) or `open`. Registered clients are third-party: users always consent',
  ),
  deviceAuthorizationRateLimit: integer(
    'DEVICE_AUTHORIZATION_RATE_LIMIT',
    300,
    'Flood guard: device authorization requests (RFC 8628) per client address per 10 minutes, per process',
    1,
    1000000,
  ),
  registrationRateLimit: integer(
    'REGISTRATION_RATE_LIMIT',
    20,
    'Flood guard: registrations per client address per hour, per process',
    1,
    100000,
  ),
  clientMetadataDocuments: oneOf(
    'CLIENT_METADATA_DOCUMENTS',
    'on',
    ['on', 'off'] as const,
    'Client ID metadata documents: a `client_id` that is an https URL is fetched and used as the client (public addresses only; loopback http only when the issuer is localhost)',
  ),
  mfaRequiredRoles: {
    env: 'MFA_REQUIRED_ROLES',
    doc: 'Roles (comma-separated) whose users must set up a second factor (a passkey or an authenticator app) at their next sign-in',
    defaultText: '(none)',
    parse: (raw) => parseRoleList(raw ?? ''),
  } satisfies Field<readonly string[]>,
  emailVerificationTtl: duration('EMAIL_VERIFICATION_TTL', '24h', 'Lifetime of an email-verification link'),
  passwordResetTtl: duration('PASSWORD_RESET_TTL', '30m', 'Lifetime of a password-reset link (at most 30m)', 1800),
  argon2MemoryCost: integer(
    'ARGON2_MEMORY_COST',
    19456,
    "argon2id memory in KiB (at least OWASP's 19456); changing a parameter rehashes each password at its next login",
    19456,
    4194304,
  ),
  argon2TimeCost: integer('ARGON2_TIME_COST', 2, 'argon2id iterations (at least 2)', 2, 100),
  argon2Parallelism: integer('ARGON2_PARALLELISM', 1, 'argon2id lanes', 1, 16),
  smtpUrl: {
    env: 'SMTP_URL',
    doc: 'Mail server, e.g. `smtp://user:pass@mail.example:587` (STARTTLS when offered) or `smtps://…:465`. Percent-encode special characters in the password. Without it see `NODE_ENV`',
    defaultText: '(none)',
    fromFile: true,
    parse: (raw) => (raw === undefined || raw === '' ? null : parseSmtpUrl(raw)),
  } satisfies Field<string | null>,
  mailFrom: {
    ...text('MAIL_FROM', '', 'Sender of account mails; a bare address gets `BRAND_NAME` as its display name'),
    defaultText: 'BRAND_NAME <no-reply@ISSUER host>',
  },
  brandName: {
    env: 'BRAND_NAME',
    doc: 'The name users see: page titles and headings, mail bodies and signature, the default `MAIL_FROM` name (see [docs/theming.md](docs/theming.md))',
    defaultText: 'Tessera',
    parse: (raw) => parseBrandName(raw),
  } satisfies Field<string>,
  brandLogoUrl: {
    env: 'BRAND_LOGO_URL',
    doc: "Logo shown on pages and in mails: an https URL on the issuer's own origin (the CSP allows images from there only); for a logo elsewhere use `BRAND_LOGO_FILE`",
    defaultText: '(none)',
    parse: (raw, parsed) => parseLogoUrl(raw, parsed['issuer']),
  } satisfies Field<string | null>,
  brandLogoFile: {
    env: 'BRAND_LOGO_FILE',
    doc: 'Logo file (PNG, SVG, WebP or JPEG, at most 256 KiB) read at start and served from the issuer at a content-hashed `/assets/brand-logo-…` path; not with `BRAND_LOGO_URL`',
    defaultText: '(none)',
    parse: (raw, parsed) => readLogoFile(raw, parsed['brandLogoUrl']),
  } satisfies Field<LogoFile | null>,
  brandColor: {
    env: 'BRAND_COLOR',
    doc: 'Accent colour of buttons and links, `#rrggbb`. Refused unless white text on it and it on the page background reach 4.5:1 (WCAG 1.4.3); the dark colour scheme uses a lightened variant',
    defaultText: '(built-in blue)',
    parse: (raw) => parseBrandColor(raw),
  } satisfies Field<string | null>,
  brandSupportUrl: {
    env: 'BRAND_SUPPORT_URL',
    doc: 'https link to your help or support page, in the page footer and in mails',
    defaultText: '(none)',
    parse: (raw) => parseBrandLink(raw),
  } satisfies Field<string | null>,
  brandPrivacyUrl: {
    env: 'BRAND_PRIVACY_URL',
    doc: 'https link to your privacy policy, in the page footer and in mails',
    defaultText: '(none)',
    parse: (raw) => parseBrandLink(raw),
  } satisfies Field<string | null>,
  brandTermsUrl: {
    env: 'BRAND_TERMS_URL',
    doc: 'https link to your terms of service, in the page footer and in mails',
    defaultText: '(none)',
    parse: (raw) => parseBrandLink(raw),
  } satisfies Field<string | null>,
  defaultLocale: oneOf(
    'DEFAULT_LOCALE',
    'en',
    SUPPORTED_LOCALES,
    "Language of pages and mails when neither `ui_locales`, the user's choice nor the browser's `Accept-Language` names a supported one (`en`, `de`, `fr`, `es`)",
  ),
  theme: {
    env: 'THEME_DIR',
    doc: 'Folder whose page and mail templates (`*.eta`), `style.css` and `messages/<language>/<area>.json` replace the built-in ones file by file (messages key by key), read at start; any other file name stops the start (see [docs/theming.md](docs/theming.md))',
    defaultText: '(none)',
    parse: (raw) => readTheme(raw),
  } satisfies Field<Theme | null>,
  trustProxy: {
    env: 'TRUST_PROXY',
    doc: 'Addresses or CIDRs (comma-separated, or `loopback`, `linklocal`, `uniquelocal`) of trusted reverse proxies; only then is `X-Forwarded-For` used for the client address',
    defaultText: '(none)',
    parse: (raw) => parseTrustedProxies(raw ?? ''),
  } satisfies Field<readonly string[]>,
  nodeEnv: oneOf(
    'NODE_ENV',
    'development',
    ['development', 'production', 'test'] as const,
    '`development`, `production` or `test` (anything else stops the start). Without `SMTP_URL`, `development` and `test` write mails (links included) to the log; `production` never does, drops them and warns at start. On a terminal, logs are pretty-printed except in `production`',
  ),
} as const

type Fields = typeof configFields

/** Values every part needs that follow from the fields: computed once here, not at each use. */
export interface DerivedConfig {
  /** The issuer is https: __Host- cookies, Secure, HSTS. */
  readonly issuerIsHttps: boolean
  /** OIDC Discovery §4: where the provider metadata lives. */
  readonly discoveryUrl: string
  /** The BRAND_* settings as pages and mails use them (branding/brand.ts). */
  readonly brand: Brand
}

export type Config = { readonly [K in keyof Fields]: ReturnType<Fields[K]['parse']> } & DerivedConfig

/**
 * Variables earlier versions read. A renamed one stops the start (its value would otherwise be
 * ignored silently, loosening a limit the operator chose); a removed one is only reported.
 */
export const OBSOLETE_VARIABLES: Readonly<Record<string, { readonly renamedTo?: string; readonly why: string }>> = {
  LOGIN_ACCOUNT_RATE_LIMIT: { renamedTo: 'LOGIN_FAILURE_LIMIT', why: 'failures are now counted per (account, device or address)' },
  TOKEN_RATE_LIMIT: {
    why: 'correct client credentials are never rate-limited; failed ones are throttled by CLIENT_AUTH_FAILURE_LIMIT and IP_FAILURE_LIMIT',
  },
}

/** One line per removed variable that is still set (renamed ones are configuration errors). */
export function obsoleteVariableWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(OBSOLETE_VARIABLES)
    .filter(([name, change]) => change.renamedTo === undefined && (env[name] ?? '') !== '')
    .map(([name, change]) => `${name} is no longer used: ${change.why}`)
}

/**
 * A variable's text: its own value, or for secrets the contents of the file `NAME_FILE` names
 * (one trailing line break removed), never both.
 */
function rawValue(env: Readonly<Record<string, string | undefined>>, field: Field<unknown>): string | undefined {
  const file = field.fromFile === true ? env[`${field.env}_FILE`] : undefined
  if (file === undefined || file === '') return env[field.env]
  if ((env[field.env] ?? '') !== '') throw new FieldProblem(`set ${field.env} or ${field.env}_FILE, not both`)
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new FieldProblem(`${field.env}_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** Parses every variable, reports every problem at once, and returns a frozen Config. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, change] of Object.entries(OBSOLETE_VARIABLES)) {
    if (change.renamedTo !== undefined && (env[name] ?? '') !== '')
      problems.push(`${name}: renamed ${change.renamedTo} (${change.why}); set that instead`)
  }
  for (const [key, field] of Object.entries(configFields) as [string, Field<unknown>][]) {
    try {
      parsed[key] = field.parse(rawValue(env, field), parsed)
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error
      problems.push(`${field.env}: ${error.message}`)
    }
  }
  const interval = parsed['keyRotationInterval'] as number | null | undefined
  const maxAge = parsed['jwksMaxAge'] as number | undefined
  // docs/security.md §F: a next key must be published longer than caches keep the JWKS.
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
  const issuer = parsed['issuer'] as string
  const derived: DerivedConfig = {
    issuerIsHttps: issuer.startsWith('https:'),
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    brand: buildBrand({
      issuer,
      name: parsed['brandName'] as string,
      logoUrl: parsed['brandLogoUrl'] as string | null,
      logoFile: parsed['brandLogoFile'] as LogoFile | null,
      color: parsed['brandColor'] as string | null,
      supportUrl: parsed['brandSupportUrl'] as string | null,
      privacyUrl: parsed['brandPrivacyUrl'] as string | null,
      termsUrl: parsed['brandTermsUrl'] as string | null,
    }),
  }
  return Object.freeze({ ...parsed, ...derived }) as Config
}

/** RFC 9068: access tokens name their audience; by default Tessera itself (its userinfo). */
export function accessTokenAudience(config: Config): string {
  return config.accessTokenAudience || config.issuer
}

export const isProduction = (config: Config): boolean => config.nodeEnv === 'production'

/**
 * An RFC 5322 display name: as is when it is only atoms and spaces, else a quoted string (a
 * brand such as `Example, Inc.` would otherwise read as two addresses).
 */
export function displayName(name: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`
}

/** The From header of account mails: MAIL_FROM, with BRAND_NAME as the name of a bare address. */
export function mailSender(config: Pick<Config, 'mailFrom' | 'issuer' | 'brand'>): string {
  const from = config.mailFrom.trim()
  if (from.includes('<')) return from
  return `${displayName(config.brand.name)} <${from || `no-reply@${new URL(config.issuer).hostname}`}>`
}

export { ConfigError }
