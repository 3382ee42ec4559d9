import t from 'tap'
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import { accessTokenAudience, ConfigError, loadConfig, parseSigningThreads } from '../../../src/config/config.js'

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.issuer, 'http://localhost:3000')
  t.same(config.database, { dialect: 'sqlite', file: path.resolve('./data/idp.db') })
  t.ok(path.isAbsolute((config.database as { file: string }).file), 'the sqlite path is absolute')
  t.equal(config.keysDir, './keys')
  t.equal(config.keysPassphrase, null)
  t.equal(config.keySize, '2048')
  t.equal(config.keyRotationInterval, null, 'rotation off by default')
  t.equal(config.accessTokenTtl, 600)
  t.equal(config.idTokenTtl, 3600)
  t.equal(config.codeTtl, 60)
  t.equal(config.logLevel, 'info')
  t.ok(Object.isFrozen(config), 'frozen')
  t.equal(accessTokenAudience(config), 'http://localhost:3000', 'access tokens default to the issuer as audience')
  t.equal(accessTokenAudience(loadConfig({ ACCESS_TOKEN_AUDIENCE: 'https://api.example' })), 'https://api.example')
})

t.test('the default issuer follows PORT', async (t) => {
  t.equal(loadConfig({ PORT: '8080' }).issuer, 'http://localhost:8080')
})

t.test('empty variables count as unset', async (t) => {
  const config = loadConfig({ PORT: '', HOST: '', LOG_LEVEL: '', KEYS_PASSPHRASE: '' })
  t.equal(config.port, 3000)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.logLevel, 'info')
  t.equal(config.keysPassphrase, null)
})

t.test('every bad variable is reported at once, each naming its variable', async (t) => {
  const found = problems({
    PORT: 'abc',
    ISSUER: 'http://idp.example',
    DATABASE_URL: 'mysql://x',
    KEY_SIZE: '1024',
    LOG_LEVEL: 'loud',
    ACCESS_TOKEN_TTL: '2h',
    CODE_TTL: '5m',
    ID_TOKEN_TTL: 'soon',
  })
  for (const name of ['PORT', 'ISSUER', 'DATABASE_URL', 'KEY_SIZE', 'LOG_LEVEL', 'ACCESS_TOKEN_TTL', 'CODE_TTL', 'ID_TOKEN_TTL']) {
    t.ok(
      found.some((p) => p.startsWith(`${name}:`)),
      `${name} reported`,
    )
  }
  t.equal(found.length, 8, 'one problem per bad variable')
  const error = t.throws(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' })) as ConfigError
  t.type(error, ConfigError)
  t.match(error.message, /PORT/)
  t.match(error.message, /LOG_LEVEL/)
})

t.test('a bad PORT is reported once, not again as a bad default ISSUER', async (t) => {
  t.same(
    problems({ PORT: 'abc' }).map((p) => p.split(':')[0]),
    ['PORT'],
  )
})

t.test('PORT bounds', async (t) => {
  t.equal(loadConfig({ PORT: '0' }).port, 0)
  t.equal(loadConfig({ PORT: '65535', ISSUER: 'https://idp.example' }).port, 65535)
  t.match(problems({ PORT: '65536', ISSUER: 'https://idp.example' }), [/^PORT:/])
  t.match(problems({ PORT: '-1', ISSUER: 'https://idp.example' }), [/^PORT:/])
  t.match(problems({ PORT: '80.5', ISSUER: 'https://idp.example' }), [/^PORT:/])
})

t.test('ISSUER: https required except on localhost and 127.0.0.1', async (t) => {
  t.equal(loadConfig({ ISSUER: 'https://idp.example' }).issuer, 'https://idp.example')
  t.equal(loadConfig({ ISSUER: 'https://idp.example/tenant' }).issuer, 'https://idp.example/tenant', 'a path is allowed')
  t.equal(loadConfig({ ISSUER: 'http://localhost:3000' }).issuer, 'http://localhost:3000')
  t.equal(loadConfig({ ISSUER: 'http://127.0.0.1:8080' }).issuer, 'http://127.0.0.1:8080')
  for (const bad of [
    'http://idp.example',
    'http://localhost.evil.test',
    'http://127.0.0.1.evil.test',
    'http://10.0.0.1',
    'ftp://idp.example',
    'idp.example',
    '/relative',
    'javascript:alert(1)',
  ]) {
    t.match(problems({ ISSUER: bad }), [/^ISSUER:/], bad)
  }
})

t.test('ISSUER: no query, fragment or credentials; trailing slash removed', async (t) => {
  for (const bad of [
    'https://idp.example?x=1',
    'https://idp.example/?',
    'https://idp.example#frag',
    'https://idp.example/#',
    'https://user:pw@idp.example',
  ]) {
    t.match(problems({ ISSUER: bad }), [/^ISSUER:/], bad)
  }
  t.equal(loadConfig({ ISSUER: 'https://idp.example/' }).issuer, 'https://idp.example')
  t.equal(loadConfig({ ISSUER: 'https://idp.example/tenant/' }).issuer, 'https://idp.example/tenant')
  t.equal(loadConfig({ ISSUER: 'http://localhost:3000/' }).issuer, 'http://localhost:3000')
})

t.test('NODE_ENV=production with an http localhost issuer works', async (t) => {
  const config = loadConfig({ NODE_ENV: 'production', ISSUER: 'http://localhost:3000' })
  t.equal(config.nodeEnv, 'production')
  t.equal(config.issuer, 'http://localhost:3000')
})

t.test('DATABASE_URL', async (t) => {
  t.same(loadConfig({ DATABASE_URL: 'sqlite:/absolute/path.db' }).database, { dialect: 'sqlite', file: '/absolute/path.db' })
  t.same(
    loadConfig({ DATABASE_URL: 'sqlite:///absolute/path.db' }).database,
    { dialect: 'sqlite', file: '/absolute/path.db' },
    'sqlite:/// form',
  )
  t.same(
    loadConfig({ DATABASE_URL: 'sqlite:./rel/idp.db' }).database,
    { dialect: 'sqlite', file: path.resolve('rel/idp.db') },
    'relative resolved absolute',
  )
  t.same(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database, { dialect: 'sqlite', file: ':memory:' })
  t.same(loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/idp' }).database, {
    dialect: 'postgres',
    url: 'postgres://u:p@db.internal:5432/idp',
  })
  t.same(loadConfig({ DATABASE_URL: 'postgresql://db/idp' }).database, { dialect: 'postgres', url: 'postgresql://db/idp' })
  for (const bad of ['sqlite:', 'mysql://x/y', 'idp.db', 'postgres://[bad'])
    t.match(problems({ DATABASE_URL: bad }), [/^DATABASE_URL:/], bad)
})

t.test('durations', async (t) => {
  t.equal(loadConfig({ ACCESS_TOKEN_TTL: '10m' }).accessTokenTtl, 600)
  t.equal(loadConfig({ ACCESS_TOKEN_TTL: '900' }).accessTokenTtl, 900, 'bare seconds')
  t.equal(loadConfig({ ACCESS_TOKEN_TTL: '90s' }).accessTokenTtl, 90)
  t.equal(loadConfig({ ACCESS_TOKEN_TTL: '1h' }).accessTokenTtl, 3600, 'exactly 1h is allowed')
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: '30d' }).keyRotationInterval, 30 * 86400)
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: '12h' }).keyRotationInterval, 12 * 3600)
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: 'off' }).keyRotationInterval, null)
  t.equal(loadConfig({ SESSION_TTL: '2d' }).sessionTtl, 2 * 86400)
  t.match(problems({ ACCESS_TOKEN_TTL: '3601' }), [/^ACCESS_TOKEN_TTL:/], 'above 1h refused')
  t.match(problems({ ACCESS_TOKEN_TTL: '2h' }), [/^ACCESS_TOKEN_TTL:/])
  t.match(problems({ ACCESS_TOKEN_TTL: '1d' }), [/^ACCESS_TOKEN_TTL:/])
  t.match(problems({ CODE_TTL: '61' }), [/^CODE_TTL:/], 'codes live at most 60 s')
  for (const bad of ['0', '0m', '-5m', '10 minutes', '1.5h', '10M', '10w', 'abc'])
    t.match(problems({ ID_TOKEN_TTL: bad }), [/^ID_TOKEN_TTL:/], bad)
  t.match(problems({ KEY_ROTATION_INTERVAL: 'never' }), [/^KEY_ROTATION_INTERVAL:/])
  t.match(problems({ KEY_ROTATION_INTERVAL: '0' }), [/^KEY_ROTATION_INTERVAL:/])
})

t.test('KEY_ROTATION_INTERVAL must be longer than JWKS_MAX_AGE (docs/security.md §F)', async (t) => {
  t.match(problems({ KEY_ROTATION_INTERVAL: '5m' }), [/^KEY_ROTATION_INTERVAL:.*JWKS_MAX_AGE/], 'equal to the default max-age')
  t.match(problems({ KEY_ROTATION_INTERVAL: '1h', JWKS_MAX_AGE: '2h' }), [/^KEY_ROTATION_INTERVAL:/])
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: '6m' }).keyRotationInterval, 360)
  t.equal(loadConfig({ KEY_ROTATION_INTERVAL: 'off', JWKS_MAX_AGE: '1d' }).keyRotationInterval, null, 'no constraint when off')
})

t.test('enumerations', async (t) => {
  t.equal(loadConfig({ KEY_SIZE: '4096' }).keySize, '4096')
  t.equal(loadConfig({ LOG_LEVEL: 'silent' }).logLevel, 'silent')
  t.equal(loadConfig({}).retiredKeys, 'delete')
  t.equal(loadConfig({ RETIRED_KEYS: 'archive' }).retiredKeys, 'archive')
  t.match(problems({ RETIRED_KEYS: 'keep' }), [/^RETIRED_KEYS:/])
  t.match(problems({ KEY_SIZE: '1024' }), [/^KEY_SIZE:/])
  t.match(problems({ LOG_LEVEL: 'INFO' }), [/^LOG_LEVEL:/])
})

t.test('KEYS_PASSPHRASE is kept exactly as given', async (t) => {
  t.equal(loadConfig({ KEYS_PASSPHRASE: ' spaced pass ' }).keysPassphrase, ' spaced pass ')
})

t.test('problem messages never echo a secret', async (t) => {
  const found = problems({ DATABASE_URL: 'mysql://admin:hunter2@db/idp', PORT: 'x' })
  t.notOk(found.join(' ').includes('hunter2'))
})

t.test('NODE_ENV, SMTP_URL and TRUST_PROXY are validated at start, each problem naming its variable', async (t) => {
  t.equal(loadConfig({}).nodeEnv, 'development')
  for (const value of ['development', 'production', 'test']) t.equal(loadConfig({ NODE_ENV: value }).nodeEnv, value)
  // `prod` once counted as development and wrote mails, reset links included, to the log.
  for (const bad of ['prod', 'Production', 'staging'])
    t.match(problems({ NODE_ENV: bad }), [/^NODE_ENV: must be one of development, production, test$/], bad)

  t.equal(loadConfig({ SMTP_URL: 'smtps://user:p%40ss@mail.example:465' }).smtpUrl, 'smtps://user:p%40ss@mail.example:465')
  for (const bad of ['mail.example:587', 'http://mail.example', 'smtp://']) t.match(problems({ SMTP_URL: bad }), [/^SMTP_URL: /], bad)

  t.same(loadConfig({ TRUST_PROXY: ' 10.0.0.1, 10.0.0.0/8 ,fd00::/8,loopback' }).trustProxy, [
    '10.0.0.1',
    '10.0.0.0/8',
    'fd00::/8',
    'loopback',
  ])
  t.same(loadConfig({}).trustProxy, [], 'no proxy by default: X-Forwarded-For is ignored')
  for (const bad of ['true', '10.0.0.0/33', 'proxy.internal', '10.0.0.1/8/8', '::1/129'])
    t.match(problems({ TRUST_PROXY: bad }), [/^TRUST_PROXY: /], bad)
})

t.test('derived values are computed once', async (t) => {
  t.match(loadConfig({ ISSUER: 'https://id.example/tenant' }), {
    issuerIsHttps: true,
    discoveryUrl: 'https://id.example/tenant/.well-known/openid-configuration',
  })
  t.match(loadConfig({}), { issuerIsHttps: false, discoveryUrl: 'http://localhost:3000/.well-known/openid-configuration' })
})

t.test('secrets may come from files named by NAME_FILE (Docker and Kubernetes secrets)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-secret-files-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, content: string) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, content)
    return file
  }
  const config = loadConfig({
    DATABASE_URL_FILE: write('db', 'postgres://tessera:s3cret@db.internal/tessera\n'),
    SMTP_URL_FILE: write('smtp', 'smtp://mailer:pw@mail.internal:587'),
    KEYS_PASSPHRASE_FILE: write('pass', 'correct horse\n'),
  })
  t.match(config.database, { dialect: 'postgres', url: 'postgres://tessera:s3cret@db.internal/tessera' }, 'one trailing line break removed')
  t.equal(config.smtpUrl, 'smtp://mailer:pw@mail.internal:587')
  t.equal(config.keysPassphrase, 'correct horse')
  t.throws(() => loadConfig({ SMTP_URL: 'smtp://a@b', SMTP_URL_FILE: write('other', 'smtp://c@d') }), {
    message: /SMTP_URL: set SMTP_URL or SMTP_URL_FILE, not both/,
  })
  t.throws(() => loadConfig({ KEYS_PASSPHRASE_FILE: path.join(dir, 'missing') }), {
    message: /KEYS_PASSPHRASE: KEYS_PASSPHRASE_FILE .*missing cannot be read \(ENOENT\)/,
  })
  t.equal(loadConfig({ ISSUER_FILE: write('issuer', 'https://x.example') }).issuer, 'http://localhost:3000', 'only secrets read files')
})

t.test('SIGNING_THREADS: auto is a thread per core of the share of each process, 1 to 4; 0 to 64 as given', async (t) => {
  t.equal(parseSigningThreads('auto', 2, 1), 2, 'two cores, one process: a thread per core')
  t.equal(parseSigningThreads('auto', 2, 2), 1, 'two processes on two cores: one each')
  t.equal(parseSigningThreads('AUTO', 8, 1), 4, 'at most four')
  t.equal(parseSigningThreads('auto', 8, 2), 4)
  t.equal(parseSigningThreads('auto', 6, 2), 3)
  t.equal(parseSigningThreads('auto', 3, 2), 1, 'a share under one core: still one')
  t.equal(parseSigningThreads('auto', 1, 1), 1)
  t.equal(parseSigningThreads('0', 8, 1), 0, "0: jose on libuv's pool")
  t.equal(parseSigningThreads(' 6 ', 2, 1), 6)
  t.equal(loadConfig({ SIGNING_THREADS: '2' }).signingThreads, 2)
  t.ok(loadConfig({}).signingThreads >= 1, 'auto by default')
  for (const bad of ['-1', '65', 'two', '1.5'])
    t.match(problems({ SIGNING_THREADS: bad }), [/^SIGNING_THREADS: must be auto or a whole number from 0 to 64/], bad)
})
