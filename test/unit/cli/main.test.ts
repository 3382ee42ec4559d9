import t, { type Test } from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { argon2idHasher } from '../../../src/accounts/password-hasher.js'
import { runCli } from '../../../src/cli/main.js'
import { connectDatabase } from '../../../src/db/connect.js'
import { usersRepository } from '../../../src/db/repositories/users.js'
import { tempDir } from '../../helpers/test-app.js'

interface Run { code: number; stdout: string[]; stderr: string[]; json: Record<string, unknown> }

function cli(t: Test) {
  const dir = tempDir('tessera-cli-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = { DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, KEYS_DIR: path.join(dir, 'keys'), LOG_LEVEL: 'silent' }
  async function run(argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
    const stdout: string[] = []
    const stderr: string[] = []
    const code = await runCli(argv, { env: { ...env, ...options.env }, stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), readStdin: async () => options.stdin ?? '' })
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
  t.match(clients[0], { client_id: result.json['client_id'], name: 'Example', type: 'confidential', pkce: 'required', redirect_uris: ['https://rp.example/cb'] })
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
  const added = await run(['users', 'add', '--email', ' Ada@Example.COM ', '--name', 'Ada', '--password-stdin', '--json'], { stdin: '  pass word with spaces  \n' })
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

  const rotated = await run(['keys', 'rotate', '--json'])
  t.equal(rotated.code, 0, rotated.stderr.join('\n'))
  t.equal(rotated.stdout.length, 1)
  t.equal(rotated.json['active_kid'], next['kid'], 'the next key was promoted')
  t.type(rotated.json['warning'], 'string', 'warns: the promoted key was published less than the JWKS max-age ago')

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
  const client = await run(['clients', 'remove', '-Xy_z'])
  t.equal(client.code, 1)
  t.match(client.stderr.join('\n'), /no client with id -Xy_z/)
})

t.test('usage and errors', async (t) => {
  const { run } = cli(t)
  const none = await run([])
  t.equal(none.code, 1)
  t.match(none.stdout.join('\n'), /usage: idp/)
  t.equal((await run(['help'])).code, 0)
  const unknown = await run(['frobnicate'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr[0], /^idp: unknown command "frobnicate"/)
  const badOption = await run(['clients', 'list', '--bogus'])
  t.equal(badOption.code, 1)
  t.match(badOption.stderr.join('\n'), /^idp: .*--bogus/)
  const badAction = await run(['keys', 'explode'])
  t.equal(badAction.code, 1)
  t.match(badAction.stderr.join('\n'), /usage: idp keys/)
  const badConfig = await run(['keys', 'list', '--json'], { env: { PORT: 'abc', KEY_SIZE: '1' } })
  t.equal(badConfig.code, 1)
  t.match(badConfig.stderr.join('\n'), /invalid configuration: .*PORT.*KEY_SIZE/)
  t.match(badConfig.json, { error: /invalid configuration/ })
})

t.test('migrate is idempotent', async (t) => {
  const { run } = cli(t)
  const first = await run(['migrate', '--json'])
  t.equal(first.code, 0, first.stderr.join('\n'))
  t.ok(Array.isArray(first.json['applied']))
  const second = await run(['migrate', '--json'])
  t.same(second.json['applied'], [], 'nothing left to apply')
})
