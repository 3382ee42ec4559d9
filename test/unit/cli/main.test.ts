import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { argon2idHasher } from '../../../src/accounts/password-hasher.js'
import { runCli } from '../../../src/cli/main.js'
import { connectDatabase } from '../../../src/db/connect.js'
import { usersRepository } from '../../../src/db/repositories/users.js'
import { ROOT, runToCompletion } from '../../helpers/processes.js'
import { tempDir } from '../../helpers/test-app.js'

interface Run {
  code: number
  stdout: string[]
  stderr: string[]
  json: Record<string, unknown>
}

function cli(t: Test) {
  const dir = tempDir('tessera-cli-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  // A next key may be promoted once published for KEY_REFRESH_INTERVAL + CLOCK_SKEW: 2 s here.
  const env = {
    DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`,
    KEYS_DIR: path.join(dir, 'keys'),
    LOG_LEVEL: 'silent',
    KEY_REFRESH_INTERVAL: '1s',
    CLOCK_SKEW: '1s',
  }
  async function run(argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
    const stdout: string[] = []
    const stderr: string[] = []
    const code = await runCli(argv, {
      env: { ...env, ...options.env },
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      readStdin: async () => options.stdin ?? '',
    })
    const last = stdout.at(-1)
    let json: Record<string, unknown> = {}
    try {
      json = last === undefined ? {} : (JSON.parse(last) as Record<string, unknown>)
    } catch {
      // not JSON output
    }
    return { code, stdout, stderr, json }
  }
  return { dir, env, run }
}

t.test('clients add --json prints one JSON object with client_id and client_secret', async (t) => {
  const { run } = cli(t)
  const result = await run(['clients', 'add', '--name', 'Example', '--redirect-uri', 'https://rp.example/cb', '--json'])
  t.equal(result.code, 0, result.stderr.join('\n'))
  t.equal(result.stdout.length, 1, 'stdout holds only the JSON line')
  t.type(result.json['client_id'], 'string')
  t.type(result.json['client_secret'], 'string')
  t.ok((result.json['client_secret'] as string).length >= 43)
  t.notOk(result.stderr.join('\n').includes(result.json['client_secret'] as string), 'the secret is not written to stderr')

  const list = await run(['clients', 'list', '--json'])
  t.equal(list.code, 0)
  const clients = list.json['clients'] as Record<string, unknown>[]
  t.equal(clients.length, 1)
  t.match(clients[0], {
    client_id: result.json['client_id'],
    name: 'Example',
    type: 'confidential',
    pkce: 'required',
    redirect_uris: ['https://rp.example/cb'],
  })
  t.notOk(list.stdout.join('\n').includes(result.json['client_secret'] as string), 'list never shows the secret')
})

t.test('clients add --public has no secret; text output without --json', async (t) => {
  const { run } = cli(t)
  const pub = await run(['clients', 'add', '--name', 'Native', '--public', '--redirect-uri', 'http://127.0.0.1/cb', '--json'])
  t.equal(pub.code, 0, pub.stderr.join('\n'))
  t.notOk('client_secret' in pub.json)
  const text = await run(['clients', 'add', '--name', 'Web', '--redirect-uri', 'https://rp.example/cb'])
  t.equal(text.code, 0)
  t.match(text.stdout.join('\n'), /client_id:\s+\S+/)
  t.match(text.stdout.join('\n'), /client_secret:\s+\S+/)
})

t.test('clients add validation errors exit 1 with a message on stderr', async (t) => {
  const { run } = cli(t)
  const bad = await run(['clients', 'add', '--name', 'X', '--redirect-uri', 'JaVaScRiPt:alert(1)'])
  t.equal(bad.code, 1)
  t.match(bad.stderr.join('\n'), /^idp: .*--redirect-uri/)
  t.same(bad.stdout, [])
  const json = await run(['clients', 'add', '--redirect-uri', 'https://rp.example/cb', '--json'])
  t.equal(json.code, 1)
  t.match(json.stderr.join('\n'), /--name/)
  t.match(json.json, { error: /--name/ }, 'with --json the error is also the last stdout line')
  const list = await run(['clients', 'list', '--json'])
  t.same(list.json['clients'], [], 'nothing was stored')
})

t.test('users add --password-stdin, users list --json', async (t) => {
  const { run, env } = cli(t)
  const added = await run(['users', 'add', '--email', ' Ada@Example.COM ', '--name', 'Ada', '--password-stdin', '--json'], {
    stdin: '  pass word with spaces  \n',
  })
  t.equal(added.code, 0, added.stderr.join('\n'))
  t.equal(added.json['email'], 'ada@example.com', 'email normalised')
  t.type(added.json['id'], 'string')

  const list = await run(['users', 'list', '--json'])
  t.equal(list.code, 0)
  const users = list.json['users'] as Record<string, unknown>[]
  t.equal(users.length, 1)
  t.match(users[0], { id: added.json['id'], email: 'ada@example.com', name: 'Ada', email_verified: true, disabled: false })
  t.notOk(JSON.stringify(users).includes('argon2'), 'no password hash listed')

  const db = connectDatabase({ dialect: 'sqlite', file: env.DATABASE_URL.slice('sqlite:'.length) })
  t.teardown(() => db.destroy())
  const user = await usersRepository(db).findByEmail('ada@example.com')
  const hasher = argon2idHasher()
  t.ok(await hasher.verify(user!.passwordHash, '  pass word with spaces  '), 'only the final line break is removed; spaces kept')
  t.notOk(await hasher.verify(user!.passwordHash, 'pass word with spaces'))

  const duplicate = await run(['users', 'add', '--email', 'ADA@example.com', '--password-stdin'], { stdin: 'another password\n' })
  t.equal(duplicate.code, 1)
  t.match(duplicate.stderr.join('\n'), /already exists/)
})

t.test('users add refuses bad input', async (t) => {
  const { run } = cli(t)
  t.equal((await run(['users', 'add', '--email', 'not-an-email', '--password-stdin'], { stdin: 'long enough pw' })).code, 1)
  t.equal((await run(['users', 'add', '--email', 'a@b.example', '--password-stdin'], { stdin: 'short\n' })).code, 1, 'too short')
  t.equal((await run(['users', 'add', '--email', 'a@b.example'])).code, 1, 'no password source')
  const both = await run(['users', 'add', '--email', 'a@b.example', '--password', 'long enough pw', '--password-stdin'], { stdin: 'x' })
  t.equal(both.code, 1, 'two password sources')
  t.match(both.stderr.join('\n'), /exactly one/)
  const list = await run(['users', 'list', '--json'])
  t.same(list.json['users'], [])
})

t.test('users disable', async (t) => {
  const { run } = cli(t)
  await run(['users', 'add', '--email', 'bob@example.com', '--password-stdin'], { stdin: 'correct horse battery' })
  const disabled = await run(['users', 'disable', 'bob@example.com', '--json'])
  t.equal(disabled.code, 0, disabled.stderr.join('\n'))
  t.equal(disabled.json['disabled'], 'bob@example.com')
  const list = await run(['users', 'list', '--json'])
  t.match((list.json['users'] as unknown[])[0], { email: 'bob@example.com', disabled: true })
  t.equal((await run(['users', 'disable', 'nobody@example.com'])).code, 1)
})

t.test('keys list and keys rotate --json', async (t) => {
  const { run, dir } = cli(t)
  const listed = await run(['keys', 'list', '--json'])
  t.equal(listed.code, 0, listed.stderr.join('\n'))
  const keys = listed.json['keys'] as Record<string, unknown>[]
  t.equal(keys.length, 2)
  for (const key of keys) {
    t.same(Object.keys(key).sort(), ['activated_at', 'alg', 'created_at', 'kid', 'retires_at', 'state'])
    t.equal(key['alg'], 'RS256')
    t.type(key['created_at'], 'number')
  }
  const active = keys.find((k) => k['state'] === 'active')!
  const next = keys.find((k) => k['state'] === 'next')!
  t.type(active['activated_at'], 'number')
  t.equal(next['activated_at'], null)
  t.equal(active['retires_at'], null)
  t.notOk(listed.stdout.join('\n').match(/"d"|PRIVATE|v1\./), 'no private material listed')
  t.equal(fs.statSync(path.join(dir, 'keys', 'kek.json')).mode & 0o777, 0o600)

  // A 6 s window (CLOCK_SKEW 5s) for this rotation: the key made by `keys list` is still younger
  // than that on a loaded machine, so the CLI waits (up to 6 s) and says so, as asserted below.
  const rotated = await run(['keys', 'rotate', '--json'], { env: { CLOCK_SKEW: '5s' } })
  t.equal(rotated.code, 0, rotated.stderr.join('\n'))
  t.equal(rotated.stdout.length, 1)
  t.equal(rotated.json['active_kid'], next['kid'], 'the next key was promoted')
  t.type(rotated.json['warning'], 'string', 'warns: the promoted key was published less than the JWKS max-age ago')
  t.match(
    rotated.json['warning'],
    /jose createRemoteJWKSet: 30 s since its last fetch; oauth4webapi: 60 s/,
    'naming the refetch cooldowns of common resource-server libraries',
  )
  // The next key was published just now (keys list created it): the CLI waits, and says why, on stderr.
  t.match(
    rotated.stderr.join('\n'),
    /^idp: waiting \d+s: the next key \S+ signs only once it has been published for KEY_REFRESH_INTERVAL \+ CLOCK_SKEW \(6s\)[^]*--now skips the wait/,
  )

  const after = (await run(['keys', 'list', '--json'])).json['keys'] as Record<string, unknown>[]
  t.equal(after.length, 3)
  t.equal(after.find((k) => k['kid'] === active['kid'])!['state'], 'retired')
  t.type(after.find((k) => k['kid'] === active['kid'])!['retires_at'], 'number')
  t.equal(after.filter((k) => k['state'] === 'active').length, 1)
  t.equal(after.filter((k) => k['state'] === 'next').length, 1)

  // `--` because a kid (a base64url thumbprint) may start with '-'; see the test below.
  const revoked = await run(['keys', 'revoke', '--', String(active['kid']), '--json'])
  t.equal(revoked.code, 0, revoked.stderr.join('\n'))
  t.match(revoked.json, { revoked: active['kid'], active_kid: next['kid'] })
  const unknown = await run(['keys', 'revoke', 'no-such-kid'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr.join('\n'), /no-such-kid/)
})

t.test('ids starting with "-" are positional arguments (kids and client ids are base64url)', async (t) => {
  const { run } = cli(t)
  const key = await run(['keys', 'revoke', '-Nq8', '--json'])
  t.equal(key.code, 1)
  t.match(key.stderr.join('\n'), /no published key with kid -Nq8/, 'reported as an unknown kid, not as an unknown option')
  t.same(key.json, { error: 'no published key with kid -Nq8' })
  const client = await run(['clients', 'remove', '-Xy_z'])
  t.equal(client.code, 1)
  t.match(client.stderr.join('\n'), /no client with id -Xy_z/)
  const separated = await run(['clients', 'remove', '--', '-Xy_z'])
  t.same(separated.stderr, ['idp: no client with id -Xy_z'], '`--` works too')
  const longDash = await run(['keys', 'revoke', '--Ab9'])
  t.same(longDash.stderr, ['idp: no published key with kid --Ab9'], 'even with two dashes')
  const user = await run(['users', 'disable', '-Qw3'])
  t.same(user.stderr, ['idp: no user with id -Qw3'], 'user ids too')
  const roles = await run(['users', 'set-roles', '-Qw3', '-x'])
  t.same(roles.stderr, ['idp: not a role name: -x (letters, digits, _ . : - and at most 64 characters)'])
  const help = await run(['keys', 'revoke', '--help'])
  t.equal(help.code, 0, '--help still asks for help')
  t.match(help.stdout.join('\n'), /^Usage: idp keys revoke /)
})

t.test('usage and errors', async (t) => {
  const { run } = cli(t)
  const none = await run([])
  t.equal(none.code, 1)
  t.match(none.stdout.join('\n'), /^Usage: idp /, 'no command: the usage, on stdout')
  t.same(none.stderr, [
    'idp: usage: idp clients|users|apis|connections|webhooks|registration|keys|audit|prune|migrate|backup|export|import …',
  ])
  const noneJson = await run(['--json'])
  t.equal(noneJson.code, 1)
  t.same(
    noneJson.stdout,
    ['{"error":"usage: idp clients|users|apis|connections|webhooks|registration|keys|audit|prune|migrate|backup|export|import …"}'],
    'with --json: only the JSON error',
  )
  t.equal((await run(['help'])).code, 0)
  const unknown = await run(['frobnicate'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr[0], /^idp: unknown command 'frobnicate'/)
  t.equal(unknown.stderr.length, 1)
  const badOption = await run(['clients', 'list', '--bogus'])
  t.equal(badOption.code, 1)
  t.match(badOption.stderr.join('\n'), /^idp: .*--bogus/)
  const badAction = await run(['keys', 'explode'])
  t.equal(badAction.code, 1)
  t.match(badAction.stderr.join('\n'), /usage: idp keys/)
  const badConfig = await run(['keys', 'list', '--json'], { env: { PORT: 'abc', KEY_SIZE: '1' } })
  t.equal(badConfig.code, 1)
  t.match(badConfig.stderr.join('\n'), /invalid configuration: .*PORT.*KEY_SIZE/)
  t.equal(badConfig.stderr.length, 1)
  t.match(badConfig.json, { error: /invalid configuration/ })
})

/** Every command the CLI has, as typed after `idp`, with the options its help must list. */
const COMMANDS: readonly (readonly [string, readonly string[]])[] = [
  [
    'clients add',
    [
      '--name <name>',
      '--redirect-uri <uri>',
      '--post-logout-redirect-uri <uri>',
      '--public',
      '--grant-type <type>',
      '--pkce <mode>',
    ].concat(['--scope <scope>', '--third-party', '--introspect']),
  ],
  [
    'clients update',
    ['--name <name>', '--redirect-uri <uri>', '--grant-type <type>', '--scope <scope>', '--api <identifier>', '--require-mfa'],
  ],
  ['clients show', []],
  ['clients rotate-secret', ['--overlap <duration>']],
  ['clients list', []],
  ['clients remove', []],
  ['users add', ['--email <email>', '--name <name>', '--password-stdin', '--password <password>', '--role <role>']],
  ['users list', []],
  ['users set-roles', []],
  ['users verify', []],
  ['users reset-link', []],
  ['users disable', []],
  ['users enable', []],
  ['users collisions', []],
  ['users set-email', []],
  ['users show', []],
  ['users update', ['--name <name>', '--no-name', '--email <new-email>']],
  ['users delete', ['--yes']],
  ['users export', ['--to <file>']],
  ['webhooks add', ['--url <url>', '--event <event>']],
  ['webhooks list', []],
  ['webhooks remove', []],
  ['keys list', []],
  ['keys rotate', ['--now']],
  ['keys revoke', []],
  ['audit', ['--user <email>', '--since <duration>', '--type <type>', '--limit <n>']],
  ['prune', []],
  ['migrate', []],
  ['backup', ['--to <file>']],
  ['export', ['--to <file>']],
  ['import', ['--from <file>']],
]

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** A help line naming the option, then its description. */
const listsOption = (help: string, flags: string) => new RegExp(`^ +${escape(flags)} +\\S`, 'm').test(help)

t.test('--help on the program, a group and every command: usage, options with descriptions, exit 0, on stdout', async (t) => {
  const { run } = cli(t)
  // Help needs no configuration: it works where every command would fail.
  const env = { PORT: 'abc' }
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const program = await run(argv, { env })
    t.equal(program.code, 0, `idp ${argv.join(' ')}`)
    t.same(program.stderr, [])
    const help = program.stdout.join('\n')
    t.match(help, /^Usage: idp /)
    for (const group of ['clients', 'users', 'keys', 'audit', 'prune', 'migrate']) {
      t.match(help, new RegExp(`^  ${group}\\b.* \\S`, 'm'), `lists ${group}`)
    }
    t.ok(listsOption(help, '-V, --version') && listsOption(help, '--json') && listsOption(help, '-h, --help'), 'lists the program options')
    t.match(help, /Examples:\n {2}\$ idp /)
  }
  for (const argv of [
    ['clients', '--help'],
    ['clients', '-h'],
    ['help', 'clients'],
  ]) {
    const group = await run(argv, { env })
    t.equal(group.code, 0, `idp ${argv.join(' ')}`)
    const help = group.stdout.join('\n')
    t.match(help, /^Usage: idp clients /)
    for (const command of ['add', 'list', 'remove']) t.match(help, new RegExp(`^  ${command}\\b.* \\S`, 'm'), `lists clients ${command}`)
  }
  for (const [command, options] of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const result = await run([...command.split(' '), flag], { env })
      t.equal(result.code, 0, `idp ${command} ${flag}`)
      t.same(result.stderr, [])
      const help = result.stdout.join('\n')
      t.match(help, new RegExp(`^Usage: idp ${command} `), `idp ${command} ${flag}: its usage`)
      for (const option of [...options, '--json', '-h, --help']) t.ok(listsOption(help, option), `idp ${command} ${flag} lists ${option}`)
    }
  }
  const add = (await run(['clients', 'add', '--help'])).stdout.join('\n')
  t.match(add, /Examples:\n {2}\$ idp clients add --name /, 'with examples')
  const json = await run(['keys', 'rotate', '--help', '--json'])
  t.equal(json.code, 0)
  t.equal(json.stdout.length, 1, 'with --json: one JSON object')
  t.match(json.json, { help: /^Usage: idp keys rotate [^]*--now/ })
})

t.test('--version and -V print the version of package.json', async (t) => {
  const { run } = cli(t)
  const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const flag of ['--version', '-V']) {
    const result = await run([flag], { env: { PORT: 'abc' } })
    t.equal(result.code, 0)
    t.same(result.stdout, [version], flag)
    t.same(result.stderr, [])
  }
  t.same((await run(['--version', '--json'])).stdout, [JSON.stringify({ version })])
})

t.test('mistyped commands and options: one line with a suggestion, exit 1', async (t) => {
  const { run } = cli(t)
  const command = await run(['cleints', 'list'])
  t.equal(command.code, 1)
  t.equal(command.stderr.length, 1, 'one line')
  t.match(command.stderr[0], /^idp: unknown command 'cleints' \(Did you mean clients\?\)/)
  t.same(command.stdout, [])
  const sub = await run(['users', 'disabel', 'a@b.example'])
  t.equal(sub.code, 1)
  t.equal(sub.stderr.length, 1)
  t.match(sub.stderr[0], /^idp: unknown command 'disabel' \(Did you mean disable\?\); usage: idp users /)
  const option = await run(['clients', 'add', '--nmae', 'Example', '--redirect-uri', 'https://rp.example/cb'])
  t.equal(option.code, 1)
  t.equal(option.stderr.length, 1, 'one line')
  t.match(option.stderr[0], /^idp: unknown option '--nmae' \(Did you mean --name\?\)/)
  const json = await run(['audit', '--limt', '5', '--json'])
  t.equal(json.code, 1)
  t.equal(json.stderr.length, 1)
  t.match(json.json, { error: /^unknown option '--limt' \(Did you mean --limit\?\)/ }, 'with --json, the error as JSON')
  t.same((await run(['clients', 'list', '--json'])).json, { clients: [] }, 'nothing was registered')
})

t.test('missing and excess arguments: one line naming the usage, exit 1', async (t) => {
  const { run } = cli(t)
  const missing = await run(['keys', 'revoke'])
  t.equal(missing.code, 1)
  t.same(missing.stderr, ["idp: missing required argument 'kid'; usage: idp keys revoke [options] <kid>"])
  const excess = await run(['users', 'set-email', 'a@b.example', 'c@d.example', 'e@f.example'])
  t.equal(excess.code, 1)
  t.equal(excess.stderr.length, 1)
  t.match(excess.stderr[0], /^idp: too many arguments .*usage: idp users set-email/)
  const empty = await run(['clients', 'remove', ''])
  t.equal(empty.code, 1)
  t.match(empty.stderr, [/^idp: .*must not be empty/])
  const group = await run(['keys'])
  t.equal(group.code, 1, 'a group without its command')
  t.match(group.stdout.join('\n'), /^Usage: idp keys /)
  t.same(group.stderr, ['idp: usage: idp keys list|rotate|revoke …'])
})

t.test('values beginning with "-" are values: --limit -5 reaches the command\'s own check', async (t) => {
  const { run } = cli(t)
  const negative = [
    ['audit', '--limit', '-5'],
    ['audit', '--limit=-5'],
    ['audit', '--limit', '0'],
    ['audit', '--limit', '-5', '--json'],
  ]
  for (const argv of negative) {
    const result = await run(argv)
    t.equal(result.code, 1, argv.join(' '))
    t.same(result.stderr, ['idp: --limit must be a whole number from 1 to 10000'], `${argv.join(' ')}: not "unknown option"`)
  }
  const since = await run(['audit', '--since', '-1h'])
  t.same(since.stderr, ['idp: --since takes a duration such as 90s, 15m, 1h or 7d'])
  const listed = await run(['audit', '--limit', '5', '--json'])
  t.equal(listed.code, 0, listed.stderr.join('\n'))
  t.ok(Array.isArray(listed.json['events']))
  // The program's own options (-V, -h) are not looked for after the command: -V… is a password here.
  const added = await run(['users', 'add', '--email', 'dash@example.com', '--password', '-V a long unusual passphrase', '--json'])
  t.equal(added.code, 0, added.stderr.join('\n'))
  t.equal(added.json['email'], 'dash@example.com')
})

t.test('migrate is idempotent', async (t) => {
  const { run } = cli(t)
  const first = await run(['migrate', '--json'])
  t.equal(first.code, 0, first.stderr.join('\n'))
  t.ok(Array.isArray(first.json['applied']))
  const second = await run(['migrate', '--json'])
  t.same(second.json['applied'], [], 'nothing left to apply')
})

t.test('the real bin/idp.js (dist/src/cli/): --version reads package.json; help and errors on the right streams', async (t) => {
  if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/bin.js'))) {
    t.comment('dist/ missing: building it with node scripts/build.mjs')
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 })
  }
  const idp = (args: string[]) =>
    runToCompletion(t, `idp ${args.join(' ')}`, process.execPath, [path.join(ROOT, 'bin/idp.js'), ...args], { timeoutMs: 120_000 })
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const printed = await idp(['--version'])
  t.equal(printed.exit.code, 0, printed.stderr)
  t.equal(printed.stdout, `${version}\n`)
  const help = await idp(['clients', 'add', '--help'])
  t.equal(help.exit.code, 0, help.stderr)
  t.match(help.stdout, /^Usage: idp clients add \[options\]\n[^]*--redirect-uri <uri>/)
  t.equal(help.stderr, '')
  const typo = await idp(['cleints', 'list'])
  t.equal(typo.exit.code, 1)
  t.equal(typo.stdout, '')
  t.match(typo.stderr, /^idp: unknown command 'cleints' \(Did you mean clients\?\)[^\n]*\n$/, 'one line on stderr')
})
