/**
 * Backups and moves. `idp backup` copies a running server's SQLite database with the real
 * bin/idp.js (a child process) while the test app holds it open; on PostgreSQL it points to
 * pg_dump. `idp export` / `idp import` move an installation from SQLite to a fresh database of the
 * suite's dialect (PostgreSQL when TEST_DATABASE=postgres): afterwards a client secret (and the
 * previous one, still in its overlap) and a user's password work there, and the same signing keys
 * are published. An import is refused, with nothing written, for another KEK, a damaged or newer
 * document, or a database that is not empty.
 */
import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { checkTransferTables } from '../../src/db/repositories/transfer.js'
import { loadOrCreateKek } from '../../src/keys/kek.js'
import { webhookSecret } from '../../src/webhooks/registry.js'
import { cliFor, cliWith } from '../helpers/cli.js'
import { loginStatus, post } from '../helpers/client.js'
import { suiteDatabase, suiteDialect } from '../helpers/databases.js'
import { runToCompletion, scratchDir, snapshotBuild } from '../helpers/processes.js'
import { createTestApp } from '../helpers/test-app.js'

const PASSWORD = 'a long unusual passphrase'

t.test('idp backup (the real bin/idp.js) copies the database while the server has it open', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const cli = cliFor(ctx)
  if (suiteDialect() === 'postgres') {
    const refused = await cli(['backup', '--to', path.join(ctx.dir, 'backup.db')])
    t.same(
      [refused.code, refused.stderr],
      [1, ['idp: PostgreSQL is backed up with pg_dump (see "Backup, restore and upgrade" in the README)']],
    )
    return
  }
  const user = await ctx.addUser({ email: 'backed.up@example.com' })
  const { client } = await ctx.addClient({ name: 'Backed-up app' })
  const { bin } = await snapshotBuild()
  const env = { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), ISSUER: ctx.issuer, LOG_LEVEL: 'silent' }
  const idp = (args: string[]) => runToCompletion(t, `idp ${args.join(' ')}`, process.execPath, [bin, ...args], { env, timeoutMs: 120_000 })

  // (The snapshot of the build has no package.json version of its own: --version runs in-process.)
  const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  t.same((await cli(['--version'])).stdout, [version], '--version prints the version of package.json')

  const file = path.join(scratchDir('tessera-backup-'), 'idp-backup.db')
  const made = await idp(['backup', '--to', file, '--json'])
  t.equal(made.exit.code, 0, made.stderr)
  t.match(JSON.parse(made.stdout.trim().split('\n').at(-1)!), { backup: file, bytes: Number })
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the backup is readable by its owner only')

  // Still in use by the app: a write after the backup is not in it, everything before is.
  await ctx.addUser({ email: 'after.backup@example.com' })
  const copy = new SQLite(file, { readonly: true, fileMustExist: true })
  t.teardown(() => copy.close())
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok', 'a sound SQLite database')
  t.same(copy.prepare('select id, email from users order by email').all(), [{ id: user.id, email: user.email }])
  t.same(copy.prepare('select name from clients where id = ?').get(client.id), { name: 'Backed-up app' })

  const again = await idp(['backup', '--to', file])
  t.equal(again.exit.code, 1)
  t.equal(again.stderr, `idp: ${file} exists already; give a new file name\n`, 'an existing file is never overwritten')
  const events = await ctx.deps.repos.auditEvents.list({ type: 'backup_created', limit: 5 })
  t.match(events, [{ detail: { actor: 'cli' } }], 'audited with its actor')
})

t.test('idp export, then idp import into a fresh database: secrets, passwords and keys keep working', async (t) => {
  const sourceDir = scratchDir('tessera-move-source-')
  const source = await createTestApp({ env: { DATABASE_URL: `sqlite:${path.join(sourceDir, 'idp.db')}` } })
  t.teardown(() => source.close())
  const keysDir = path.join(source.dir, 'keys')
  const sourceCli = cliFor(source)
  const ok = async (argv: string[], stdin?: string) => {
    const result = await sourceCli([...argv, '--json'], stdin)
    if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr.join('\n')}`)
    return result.json
  }
  await ok(['apis', 'add', '--identifier', 'https://billing.example', '--name', 'Billing', '--scope', 'invoices:read'])
  const service = await ok([
    'clients',
    'add',
    '--name',
    'Billing job',
    '--grant-type',
    'client_credentials',
    '--scope',
    'jobs:run',
    '--api',
    'https://billing.example',
  ])
  const serviceId = service['client_id'] as string
  const rotated = await ok(['clients', 'rotate-secret', serviceId, '--overlap', '1h'])
  await ok(['users', 'add', '--email', 'mover@example.com', '--password-stdin', '--role', 'ops'], PASSWORD)
  await ok(
    [
      'connections',
      'add',
      '--type',
      'oauth2',
      '--name',
      'GitHub',
      '--client-id',
      'gh-client',
      '--client-secret-stdin',
      '--authorization-endpoint',
      'https://github.com/login/oauth/authorize',
      '--token-endpoint',
      'https://github.com/login/oauth/access_token',
      '--user-endpoint',
      'https://api.github.com/user',
    ],
    'gh-secret',
  )
  const webhook = await ok(['webhooks', 'add', '--url', 'http://127.0.0.1:9/hooks', '--event', 'user.*'])
  const mover = await source.deps.repos.users.findByEmail('mover@example.com')
  await source.deps.repos.totp.startSetup(mover!.id, 'sealed-totp-secret', source.clock.now())
  await source.deps.repos.totp.acceptTimeStep(mover!.id, 1, source.clock.now(), true)

  const file = path.join(sourceDir, 'export.json')
  const exported = await sourceCli(['export', '--to', file, '--json'])
  t.equal(exported.code, 0, exported.stderr.join('\n'))
  t.match(exported.json['counts'], {
    users: 1,
    clients: 1,
    apis: 1,
    client_apis: 1,
    connections: 1,
    totp_factors: 1,
    webhooks: 1,
    signing_keys: Number,
  })
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the export is readable by its owner only')
  t.match(await source.deps.repos.auditEvents.list({ type: 'installation_exported', limit: 1 }), [{ detail: { actor: 'cli', users: 1 } }])
  const document = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>
  t.match(document, { format: 'tessera-installation', version: 1, issuer: source.issuer, schema: /^\d{4}_/ })

  const targetDir = scratchDir('tessera-move-target-')
  const target = await suiteDatabase(targetDir)
  const importInto = (keys: string) => cliWith({ DATABASE_URL: target.url, KEYS_DIR: keys, ISSUER: source.issuer })
  const importCli = importInto(keysDir)

  // Refusals first: each one line, nothing written.
  const noKek = await importInto(scratchDir('tessera-no-kek-'))(['import', '--from', file])
  t.match(noKek.stderr, [/^idp: no key-encryption key at .*kek\.json: the key-encryption key of the exporting installation is needed/])
  const otherKeys = scratchDir('tessera-other-kek-')
  loadOrCreateKek(otherKeys, null)
  const otherKek = await importInto(otherKeys)(['import', '--from', file])
  t.match(otherKek.stderr, [/^idp: the KEK in KEYS_DIR is not the exporting installation's: copy its KEYS_DIR\/kek\.json here/])
  const variant = (change: (copy: Record<string, unknown>) => void) => {
    const copy = JSON.parse(JSON.stringify(document)) as Record<string, unknown>
    change(copy)
    const variantFile = path.join(sourceDir, `variant-${Math.random().toString(36).slice(2)}.json`)
    fs.writeFileSync(variantFile, JSON.stringify(copy))
    return variantFile
  }
  const damaged = variant((copy) => {
    ;(copy['tables'] as Record<string, Record<string, unknown>[]>)['users']![0]!['email_verified'] = 'yes'
  })
  t.same((await importCli(['import', '--from', damaged])).stderr, [
    'idp: the export is damaged: users[0].email_verified must be an integer',
  ])
  const older = JSON.parse(JSON.stringify(document['tables'])) as Record<string, Record<string, unknown>[]>
  delete older['clients']![0]!['introspect_apis']
  delete older['webhooks']
  const olderTables = checkTransferTables(older)
  t.equal(olderTables.clients[0]!['introspect_apis'], '[]', 'an export made before a column was added: its default')
  t.same(olderTables.webhooks, [], 'and a table it did not have: empty')
  const newer = variant((copy) => {
    copy['version'] = 2
  })
  t.match((await importCli(['import', '--from', newer])).stderr, [/^idp: the export is of format version 2, newer than this Tessera reads/])
  const later = variant((copy) => {
    copy['schema'] = '2999_01_01_0000_future'
  })
  t.match((await importCli(['import', '--from', later])).stderr, [/^idp: the export comes from a newer Tessera/])

  const imported = await importCli(['import', '--from', file, '--json'])
  t.equal(imported.code, 0, imported.stderr.join('\n'))
  t.same(imported.json['counts'], document['counts'])
  t.same(imported.json['warnings'], [], 'same ISSUER: nothing to warn about')
  const twice = await importCli(['import', '--from', file])
  t.match(twice.stderr, [
    /^idp: the database is not empty \(1 users, 1 clients, 1 apis, 1 connections, \d+ signing_keys\): import into a new database/,
  ])

  const moved = await createTestApp({ env: { DATABASE_URL: target.url, KEYS_DIR: keysDir, ISSUER: source.issuer } })
  t.teardown(async () => {
    await moved.close()
    await target.drop()
  })
  const client = (await moved.deps.repos.clients.find(serviceId))!
  const token = (secret: string) => post(moved, '/token', { client, secret }, { grant_type: 'client_credentials' })
  t.equal((await token(rotated['client_secret'] as string)).statusCode, 200, 'the client secret works after the move')
  t.equal((await token(service['client_secret'] as string)).statusCode, 200, 'and the previous one, within its overlap')
  const forApi = await post(
    moved,
    '/token',
    { client, secret: rotated['client_secret'] as string },
    { grant_type: 'client_credentials', resource: 'https://billing.example' },
  )
  t.equal(forApi.statusCode, 200, 'its allowed API moved with it')
  t.equal(await loginStatus(moved, 'mover@example.com', PASSWORD), 303, "the user's password works after the move")
  t.equal(await loginStatus(moved, 'mover@example.com', 'not the password'), 401)

  const kids = async (app: typeof source) =>
    ((await app.app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }).keys.map((key) => key.kid).sort()
  t.same(await kids(moved), await kids(source), 'the same signing keys are published')
  const users = (await cliFor(moved, { KEYS_DIR: keysDir })(['users', 'list', '--json'])).json['users'] as Record<string, unknown>[]
  t.match(users, [{ email: 'mover@example.com', roles: ['ops'], factors: { totp: true } }], 'with roles and second factors')
  t.match(await moved.deps.repos.connections.list(), [{ id: 'github', clientId: 'gh-client', sealedClientSecret: String }])
  const movedWebhook = await moved.deps.repos.webhooks.find(webhook['id'] as string)
  t.match(movedWebhook, { url: 'http://127.0.0.1:9/hooks', events: ['user.*'] }, 'webhooks move')
  t.equal(webhookSecret(moved.deps.webhookKey, movedWebhook!), webhook['secret'], 'with their signing secret, still sealed')
  t.match(await moved.deps.repos.auditEvents.list({ type: 'installation_imported', limit: 1 }), [{ detail: { actor: 'cli', users: 1 } }])
})
