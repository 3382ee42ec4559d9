/**
 * One person, one account, whatever the spelling (RFC 8265 width and case mapping, NFC, IDNA
 * domains, no trailing dot): look-alikes never become separate accounts, mixed-script addresses
 * are refused, and the migration that canonicalises stored emails merges nothing — collisions are
 * listed by `idp users collisions` and resolved by the operator.
 */
import t from 'tap'
import fs from 'node:fs'
import { Migrator, type Migration } from 'kysely'
import { runCli } from '../../src/cli/main.js'
import { parseDatabaseUrl } from '../../src/config/urls.js'
import { connectDatabase } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { availableDatabases } from '../helpers/databases.js'
import { tempDir } from '../helpers/test-app.js'
import { CookieJar, signInAtLoginPage, signUp } from '../helpers/client.js'
import { mailedApp } from '../helpers/smtp.js'

const PASSWORD = 'lantern quietly orbits'

t.test('signup: NFD, full-width, upper-case and trailing-dot spellings are the same account', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  t.equal((await signUp(ctx, new CookieJar(), { name: 'José', email: 'josé@example.com', password: PASSWORD })).statusCode, 200)
  for (const spelling of ['jose\u0301@example.com', 'ＪＯＳÉ@ＥＸＡＭＰＬＥ．ＣＯＭ', 'JOSÉ@Example.Com']) {
    const answer = await signUp(ctx, new CookieJar(), { name: 'Impostor', email: spelling, password: PASSWORD })
    t.equal(answer.statusCode, 200, `${JSON.stringify(spelling)}: the same answer as for any address`)
  }
  const trailing = await signUp(ctx, new CookieJar(), { name: 'Dot', email: 'josé@example.com.', password: PASSWORD })
  t.equal(trailing.statusCode, 400, 'a trailing dot is refused on new addresses')
  t.match(trailing.body, 'Remove the dot at the end of the address.')
  const users = await ctx.deps.repos.users.list()
  t.same(
    users.map((user) => user.email),
    ['jos\u00e9@example.com'],
    'one account, stored in canonical form',
  )
  await ctx.deps.mail.idle()
  t.equal(
    smtp.messages.filter((mail) => /tried to sign up/.test(mail.subject)).length,
    3,
    'the owner is told of each look-alike attempt instead',
  )

  for (const spelling of ['jose\u0301@example.com', 'ＪＯＳÉ@ＥＸＡＭＰＬＥ．ＣＯＭ', 'josé@example.com.']) {
    t.equal((await signInAtLoginPage(ctx, new CookieJar(), spelling, PASSWORD)).statusCode, 303, `signs in as ${JSON.stringify(spelling)}`)
  }
})

t.test('signup: an address mixing alphabets is refused with a reason', async (t) => {
  const { ctx } = await mailedApp(t)
  const cyrillicA = await signUp(ctx, new CookieJar(), { name: 'Pay', email: 'p\u0430ypal@example.com', password: PASSWORD })
  t.equal(cyrillicA.statusCode, 400)
  t.match(cyrillicA.body, 'mixes alphabets')
  const domain = await signUp(ctx, new CookieJar(), { name: 'Pay', email: 'ada@p\u0430ypal.com', password: PASSWORD })
  t.equal(domain.statusCode, 400)
  t.equal((await ctx.deps.repos.users.list()).length, 0, 'no account was made')
})

/** The real migrations, applied up to (not including) the first whose name starts with `before`. */
async function migrateBefore(db: ReturnType<typeof connectDatabase>, before: string): Promise<void> {
  const folder = new URL('../../migrations/', import.meta.url)
  const files = fs
    .readdirSync(folder)
    .filter((file) => file.endsWith('.ts') && file < before)
    .sort()
  const migrations: Record<string, Migration> = {}
  for (const file of files) migrations[file.replace(/\.ts$/, '')] = (await import(new URL(file, folder).href)) as Migration
  const result = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest()
  if (result.error) throw result.error
}

for (const { name, create } of availableDatabases()) {
  t.test(`${name}: the migration canonicalises lone spellings, merges nothing, and idp users collisions reports the rest`, async (t) => {
    const database = await create()
    const db = connectDatabase(parseDatabaseUrl(database.url))
    const dir = tempDir()
    t.teardown(async () => {
      await db.destroy()
      await database.drop()
      fs.rmSync(dir, { recursive: true, force: true })
    })
    await migrateBefore(db, '2026_12_06_0000')
    const row = (id: string, email: string, at: number) => ({
      id,
      email,
      name: null,
      password_hash: 'x',
      email_verified: 1,
      disabled_at: null,
      created_at: at,
      updated_at: at,
      roles: '[]',
    })
    await db
      .insertInto('users')
      .values([
        row('nfc', 'jos\u00e9@example.com', 1),
        row('nfd', 'jose\u0301@example.com', 2),
        row('lone', 'Ada@Example.COM.', 3),
        row('wide-1', 'ｂｏｂ@example.com', 4),
        row('wide-2', 'Bob@example.com', 5),
      ])
      .execute()
    await migrateToLatest(db)
    const stored = Object.fromEntries((await db.selectFrom('users').select(['id', 'email']).execute()).map((user) => [user.id, user.email]))
    t.equal(stored['lone'], 'ada@example.com', 'a spelling nobody else shares becomes canonical')
    t.same(
      [stored['nfc'], stored['nfd'], stored['wide-1'], stored['wide-2']],
      ['jos\u00e9@example.com', 'jose\u0301@example.com', 'ｂｏｂ@example.com', 'Bob@example.com'],
      'colliding rows are left exactly as they were',
    )

    const env = { DATABASE_URL: database.url, KEYS_DIR: `${dir}/keys`, LOG_LEVEL: 'silent' }
    const cli = async (args: string[]) => {
      const out: string[] = []
      const err: string[] = []
      const code = await runCli(args, {
        env,
        stdout: (line) => out.push(line),
        stderr: (line) => err.push(line),
        readStdin: async () => '',
      })
      return { code, out, err, json: code === 0 && args.includes('--json') ? (JSON.parse(out.at(-1)!) as Record<string, unknown>) : {} }
    }
    const migrated = await cli(['migrate'])
    t.match(
      migrated.out.join('\n'),
      /Warning: 4 accounts share 2 email addresses once normalised; 3 of them cannot sign in until resolved: run idp users collisions/,
      'idp migrate says how many accounts collide and how many cannot sign in',
    )
    const report = await cli(['users', 'collisions', '--json'])
    const groups = report.json['collisions'] as { canonical_email: string; users: { id: string; answers_sign_in: boolean }[] }[]
    t.same(
      groups.map((group) => [group.canonical_email, group.users.map((user) => [user.id, user.answers_sign_in])]),
      [
        [
          'jos\u00e9@example.com',
          [
            ['nfc', true],
            ['nfd', false],
          ],
        ],
        [
          'bob@example.com',
          [
            ['wide-1', false],
            ['wide-2', false],
          ],
        ],
      ],
      'both groups, and which account (if any) answers sign-ins',
    )
    const text = await cli(['users', 'collisions'])
    t.match(text.out.join('\n'), /Nothing was merged/)

    t.equal(
      (await cli(['users', 'set-email', 'nfd', 'jose.other@example.com'])).code,
      0,
      'the operator gives the extra account another address',
    )
    const taken = await cli(['users', 'set-email', 'wide-1', 'JOSÉ@example.com'])
    t.equal(taken.code, 1)
    t.match(taken.err.join('\n'), /already belongs to user nfc/, 'an address in use (in any spelling) is refused')
    t.equal((await cli(['users', 'set-email', 'wide-2', 'bob@example.com'])).code, 0, 'or canonicalises the one that should sign in')
    t.equal((await cli(['users', 'set-email', 'wide-1', 'bobby@example.com'])).code, 0)
    t.same((await cli(['users', 'collisions', '--json'])).json['collisions'], [], 'resolved')
    t.same((await cli(['migrate', '--json'])).json, { applied: [], warning: null }, 'and idp migrate no longer warns')
  })
}
