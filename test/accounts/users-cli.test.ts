/**
 * The `idp users` commands for accounts: roles, verification, support reset links, disabling.
 * runCli runs in-process against a temp database, or against the database and keys of a running
 * test app, whose HTTP side then shows the effect; one case runs the real bin/idp.js.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { argon2idHasher } from '../../src/accounts/password-hasher.js'
import { runCli } from '../../src/cli/main.js'
import { connectDatabase } from '../../src/db/connect.js'
import { usersRepository } from '../../src/db/repositories/users.js'
import {
  CookieJar,
  getPage,
  introspect,
  refresh,
  signIn,
  signInAtLoginPage,
  silentAuthorize,
  submitForm,
  userinfo,
} from '../helpers/client.js'
import { ROOT, runToCompletion } from '../helpers/processes.js'
import { createTestApp, tempDir, type TestApp } from '../helpers/test-app.js'

interface Run {
  readonly code: number
  readonly stdout: string[]
  readonly stderr: string[]
  readonly json: Record<string, unknown>
}

type Cli = (argv: string[], stdin?: string) => Promise<Run>

function lastJson(lines: readonly string[]): Record<string, unknown> {
  try {
    return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>
  } catch {
    return {}
  }
}

function cliWith(env: Record<string, string>): Cli {
  return async (argv, stdin = '') => {
    const stdout: string[] = []
    const stderr: string[] = []
    const code = await runCli(argv, {
      env: { LOG_LEVEL: 'silent', ...env },
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      readStdin: async () => stdin,
    })
    return { code, stdout, stderr, json: lastJson(stdout) }
  }
}

/** The CLI on a fresh, empty installation. */
function freshCli(t: Test): { cli: Cli; env: Record<string, string> } {
  const dir = tempDir('tessera-users-cli-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = { DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, KEYS_DIR: path.join(dir, 'keys') }
  return { cli: cliWith(env), env }
}

/** The CLI an operator runs beside a running server: same database, same keys, same ISSUER. */
const cliFor = (ctx: TestApp): Cli => cliWith({ DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), ISSUER: ctx.issuer })

const listed = async (cli: Cli) => {
  const list = await cli(['users', 'list', '--json'])
  if (list.code !== 0) throw new Error(`users list failed: ${list.stderr.join('\n')}`)
  return list.json['users'] as Record<string, unknown>[]
}

const PASSWORD = 'a long unusual passphrase'

t.test('users add --role … --json; users list shows roles and status', async (t) => {
  const { cli } = freshCli(t)
  const added = await cli(
    [
      'users',
      'add',
      '--email',
      'carol@example.com',
      '--name',
      'Carol',
      '--password-stdin',
      '--role',
      'ops',
      '--role',
      'admin',
      '--role',
      'ops',
      '--json',
    ],
    `${PASSWORD}\n`,
  )
  t.equal(added.code, 0, added.stderr.join('\n') || 'added')
  t.match(added.json, { email: 'carol@example.com', roles: ['admin', 'ops'] }, 'roles sorted and deduplicated')
  t.type(added.json['id'], 'string')
  const users = await listed(cli)
  t.equal(users.length, 1)
  t.same(
    Object.keys(users[0]!).sort(),
    ['created_at', 'disabled', 'email', 'email_verified', 'factors', 'id', 'name', 'roles'],
    'no password hash listed',
  )
  t.match(users[0], {
    id: added.json['id'],
    email: 'carol@example.com',
    name: 'Carol',
    email_verified: true,
    disabled: false,
    roles: ['admin', 'ops'],
  })
  const text = await cli(['users', 'list'])
  t.match(text.stdout.join('\n'), /carol@example\.com\s+Carol\s+admin,ops\s+active/, 'the text listing has a roles column')
})

t.test('users add refuses invalid role names and common passwords (exit 1, nothing stored)', async (t) => {
  const { cli } = freshCli(t)
  for (const role of ['has space', '', 'x'.repeat(65), '-leading-dash', 'a,b', 'rôle', 'admin"}']) {
    const result = await cli(
      ['users', 'add', '--email', 'dan@example.com', '--password-stdin', '--role', 'ops', `--role=${role}`, '--json'],
      PASSWORD,
    )
    t.equal(result.code, 1, `role ${JSON.stringify(role)} refused`)
    t.match(result.stderr.join('\n'), /^idp: not a role name/)
    t.match(result.json, { error: /not a role name/ })
  }
  const common = await cli(['users', 'add', '--email', 'dan@example.com', '--password-stdin'], 'Password123\n')
  t.equal(common.code, 1, 'a common password is refused')
  t.match(common.stderr.join('\n'), /password refused: .*too common/)
  t.same(await listed(cli), [], 'no user was created')
  const longest = await cli(
    [
      'users',
      'add',
      '--email',
      'dan@example.com',
      '--password-stdin',
      '--role',
      'r'.repeat(64),
      '--role',
      'team:billing.read_only-2',
      '--json',
    ],
    PASSWORD,
  )
  t.equal(longest.code, 0, 'the longest and most varied valid names are accepted')
  t.same(longest.json['roles'], ['r'.repeat(64), 'team:billing.read_only-2'].sort())
})

t.test('users set-roles replaces the roles; without roles it clears them', async (t) => {
  const { cli } = freshCli(t)
  t.equal((await cli(['users', 'add', '--email', 'dave@example.com', '--password-stdin', '--role', 'viewer'], PASSWORD)).code, 0)

  const set = await cli(['users', 'set-roles', 'dave@example.com', 'ops', 'admin', 'ops', '--json'])
  t.equal(set.code, 0, set.stderr.join('\n') || 'roles set')
  t.match(set.json, { email: 'dave@example.com', roles: ['admin', 'ops'] }, 'replaced, sorted, deduplicated')
  t.same((await listed(cli))[0]!['roles'], ['admin', 'ops'])

  const bad = await cli(['users', 'set-roles', 'dave@example.com', 'auditor', 'bad role'])
  t.equal(bad.code, 1)
  t.match(bad.stderr.join('\n'), /not a role name: bad role/)
  t.same((await listed(cli))[0]!['roles'], ['admin', 'ops'], 'a refused change changes nothing')

  const cleared = await cli(['users', 'set-roles', 'Dave@Example.COM', '--json'])
  t.equal(cleared.code, 0, cleared.stderr.join('\n') || 'cleared')
  t.same(cleared.json['roles'], [], 'no roles given: cleared (the email is matched case-insensitively)')
  t.same((await listed(cli))[0]!['roles'], [])

  const unknown = await cli(['users', 'set-roles', 'nobody@example.com', 'admin'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr.join('\n'), /^idp: no user with email nobody@example\.com/)
  t.equal((await cli(['users', 'set-roles'])).code, 1, 'no email: usage error')
})

t.test('users verify marks an unverified address verified', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const cli = cliFor(ctx)
  const user = await ctx.addUser({ emailVerified: false })
  t.equal((await ctx.deps.repos.users.findByEmail(user.email))!.emailVerified, false)
  const verified = await cli(['users', 'verify', user.email, '--json'])
  t.equal(verified.code, 0, verified.stderr.join('\n') || 'verified')
  t.match(verified.json, { verified: user.email, id: user.id })
  t.equal((await ctx.deps.repos.users.findByEmail(user.email))!.emailVerified, true, 'the running app sees it verified')
  t.match(
    (await listed(cli)).find((u) => u['email'] === user.email),
    { email_verified: true },
  )
  const unknown = await cli(['users', 'verify', 'nobody@example.com'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr.join('\n'), /no user with email nobody@example\.com/)
})

t.test('users reset-link prints a link on ISSUER that works in the running app; a newer link voids it', async (t) => {
  const ctx = await createTestApp({ env: { ISSUER: 'https://login.example.test' } })
  t.teardown(() => ctx.close())
  const cli = cliFor(ctx)
  const user = await ctx.addUser()

  const first = await cli(['users', 'reset-link', user.email, '--json'])
  t.equal(first.code, 0, first.stderr.join('\n') || 'link made')
  const firstLink = String(first.json['reset_link'])
  t.match(firstLink, /^https:\/\/login\.example\.test\/reset-password\?token=[A-Za-z0-9_-]{43,}$/, 'built on the configured ISSUER')
  t.match(first.json, { email: user.email, id: user.id, expires_in: 1800 })
  const second = await cli(['users', 'reset-link', user.email, '--json'])
  t.equal(second.code, 0)
  const secondLink = String(second.json['reset_link'])
  t.not(secondLink, firstLink)

  const pathOf = (link: string) => `${new URL(link).pathname}${new URL(link).search}`
  const oldJar = new CookieJar()
  t.equal((await getPage(ctx, oldJar, pathOf(firstLink))).statusCode, 303)
  const voided = await getPage(ctx, oldJar, '/reset-password')
  t.equal(voided.statusCode, 400, 'the first link died when the second was made')
  t.match(voided.body, /This link has expired/)

  const jar = new CookieJar()
  const visit = await getPage(ctx, jar, pathOf(secondLink))
  t.equal(visit.statusCode, 303)
  t.equal(visit.headers.location, '/reset-password', 'the token leaves the URL')
  const newPassword = 'a brand new passphrase for support'
  const done = await submitForm(ctx, jar, '/reset-password', '/reset-password', { password: newPassword, password_confirm: newPassword })
  t.equal(done.statusCode, 200)
  t.match(done.body, /Your password was changed/)
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), user.email, user.password)).statusCode, 401, 'the old password no longer works')
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), user.email, newPassword)).statusCode, 303, 'the new one does')

  const text = await cli(['users', 'reset-link', user.email])
  t.equal(text.code, 0)
  t.match(
    text.stdout.join('\n'),
    /^https:\/\/login\.example\.test\/reset-password\?token=\S+\nValid once, for 30 minutes\./,
    'text output: the link, then how long it lasts',
  )
  const unknown = await cli(['users', 'reset-link', 'nobody@example.com'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr.join('\n'), /no user with email nobody@example\.com/)
})

t.test('users disable ends sessions and revokes tokens; users enable lets the user sign in again', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const cli = cliFor(ctx)
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp = { client, secret }
  const user = await ctx.addUser()
  const bystander = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  const other = await signIn(ctx, rp, bystander, { scope: 'openid offline_access' })
  const accountJar = new CookieJar()
  t.equal((await signInAtLoginPage(ctx, accountJar, user.email, user.password)).statusCode, 303)
  t.equal((await getPage(ctx, accountJar, '/account')).statusCode, 200, 'signed in on the account page')

  const disabled = await cli(['users', 'disable', user.email, '--json'])
  t.equal(disabled.code, 0, disabled.stderr.join('\n') || 'disabled')
  t.match(disabled.json, { disabled: user.email, id: user.id })

  const refused = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().error, 'invalid_grant', 'the refresh token is dead')
  t.match(await introspect(ctx, rp, tokens.refresh_token!), { active: false })
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'the access token is refused by userinfo')
  t.match(await introspect(ctx, rp, tokens.access_token), { active: false }, 'and reported inactive')
  t.equal((await silentAuthorize(ctx, rp, jar)).searchParams.get('error'), 'login_required', 'the browser session of the code flow ended')
  const account = await getPage(ctx, accountJar, '/account')
  t.equal(account.statusCode, 303, 'the account page session ended')
  t.equal(account.headers.location, '/login')
  const login = await signInAtLoginPage(ctx, new CookieJar(), user.email, user.password)
  t.equal(login.statusCode, 401, 'a disabled user cannot sign in')
  t.match(login.body, /Incorrect email or password/, 'with the usual answer')
  t.match(
    (await listed(cli)).find((u) => u['email'] === user.email),
    { disabled: true },
  )
  const noLink = await cli(['users', 'reset-link', user.email])
  t.equal(noLink.code, 1, 'no reset link for a disabled user')
  t.match(noLink.stderr.join('\n'), /disabled/)
  t.equal((await refresh(ctx, rp, other.tokens.refresh_token!)).statusCode, 200, 'other users are untouched')

  const enabled = await cli(['users', 'enable', user.email, '--json'])
  t.equal(enabled.code, 0, enabled.stderr.join('\n') || 'enabled')
  t.match(enabled.json, { enabled: user.email, id: user.id })
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), user.email, user.password)).statusCode, 303, 'the user can sign in again')
  const again = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  t.type(again.tokens.refresh_token, 'string', 'and get new tokens')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 400, 'the old refresh token stays revoked')
  t.match(
    (await listed(cli)).find((u) => u['email'] === user.email),
    { disabled: false },
  )

  for (const action of ['disable', 'enable']) {
    const unknown = await cli(['users', action, 'nobody@example.com', '--json'])
    t.equal(unknown.code, 1, `${action} of an unknown email fails`)
    t.same(unknown.stderr, ['idp: no user with email nobody@example.com'], 'with a clear message')
    t.same(unknown.json, { error: 'no user with email nobody@example.com' })
  }
})

t.test('the real bin/idp.js: users add with roles and a piped password; a bad role exits 1', async (t) => {
  const idp = path.join(ROOT, 'bin/idp.js')
  if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/bin.js'))) {
    t.comment('dist/ missing: building it with node scripts/build.mjs')
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 })
  }
  const { env } = freshCli(t)
  const childEnv = { ...env, LOG_LEVEL: 'silent' }
  const password = '  piped pass phrase  '
  const added = await runToCompletion(
    t,
    'idp users add',
    process.execPath,
    [idp, 'users', 'add', '--email', 'erin@example.com', '--password-stdin', '--role', 'admin', '--role', 'ops', '--json'],
    { env: childEnv, stdin: `${password}\n` },
  )
  t.equal(added.exit.code, 0, added.stderr || 'exit 0')
  t.match(lastJson(added.stdout.trimEnd().split('\n')), { email: 'erin@example.com', roles: ['admin', 'ops'] })

  t.match(
    await listed(cliWith(env)),
    [{ email: 'erin@example.com', roles: ['admin', 'ops'], email_verified: true, disabled: false }],
    'users list shows what the process stored',
  )

  const db = connectDatabase({ dialect: 'sqlite', file: env['DATABASE_URL']!.slice('sqlite:'.length) })
  t.teardown(() => db.destroy())
  const stored = await usersRepository(db).findByEmail('erin@example.com')
  t.ok(await argon2idHasher().verify(stored!.passwordHash, password), 'the password is exactly what was piped, minus the final newline')

  const bad = await runToCompletion(
    t,
    'idp users add (bad role)',
    process.execPath,
    [idp, 'users', 'add', '--email', 'frank@example.com', '--password-stdin', '--role', 'no spaces please'],
    { env: childEnv, stdin: PASSWORD },
  )
  t.equal(bad.exit.code, 1, 'an invalid role name exits 1')
  t.match(bad.stderr, /^idp: not a role name: no spaces please/m)
})
