/**
 * Accounts through the service layer (accounts/lifecycle.ts, accounts/data-export.ts) and the
 * `idp users` commands on it: create, show, update and every other change audited with its actor;
 * delete removes every row about the user and ends their sessions the way a logout does (a
 * back-channel logout job for each client with a logout URI); the data export holds no hash,
 * key or secret.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { exportUserData } from '../../src/accounts/data-export.js'
import {
  createUser,
  deleteUser,
  EmailTaken,
  InvalidAccountInput,
  setUserRoles,
  UnknownUser,
  updateUser,
} from '../../src/accounts/lifecycle.js'
import type { Actor } from '../../src/model/actor.js'
import { hashSecret, randomId, randomToken } from '../../src/secrets.js'
import { cliFor } from '../helpers/cli.js'
import { claims, CookieJar, loginStatus, obtainCode, refresh, signIn, userinfo } from '../helpers/client.js'
import { issueLegacyRefreshToken } from '../helpers/legacy-refresh-token.js'
import { createTestApp } from '../helpers/test-app.js'
import { addLogoutClient } from '../sessions/support.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const cli = cliFor(ctx)
const ADMIN: Actor = { kind: 'user', userId: 'admin-1' }
const PASSWORD = 'a long unusual passphrase'

const eventsOf = async (userId: string, type?: string) =>
  (await ctx.deps.repos.auditEvents.list({ userId, limit: 500, ...(type === undefined ? {} : { type }) })).map((event) => ({
    type: event.type,
    actor: event.detail['actor'],
    detail: event.detail,
  }))

t.test('users add, update, set-roles, disable, enable, verify, mfa-reset: each an event naming its actor', async (t) => {
  const added = await cli(
    ['users', 'add', '--email', 'Grace@Example.com', '--name', 'Grace', '--password-stdin', '--role', 'ops', '--json'],
    PASSWORD,
  )
  t.equal(added.code, 0, added.stderr.join('\n'))
  const id = added.json['id'] as string
  t.match(await eventsOf(id, 'user_created'), [{ actor: 'cli', detail: { roles: ['ops'] } }])

  const updated = await cli([
    'users',
    'update',
    'grace@example.com',
    '--name',
    'Grace Hopper',
    '--email',
    'grace.hopper@example.com',
    '--json',
  ])
  t.equal(updated.code, 0, updated.stderr.join('\n'))
  t.match(updated.json, { id, email: 'grace.hopper@example.com', name: 'Grace Hopper', email_verified: false })
  t.match(await eventsOf(id, 'user_updated'), [{ actor: 'cli', detail: { changed: ['name', 'email'] } }])
  t.match(await eventsOf(id, 'email_changed'), [{ actor: 'cli' }])
  t.equal((await cli(['users', 'update', id, '--no-name', '--json'])).json['name'], null, '--no-name removes it')

  for (const argv of [
    ['users', 'set-roles', id, 'admin'],
    ['users', 'verify', id],
    ['users', 'disable', id],
    ['users', 'enable', id],
    ['users', 'mfa-reset', id],
    ['users', 'reset-link', id],
  ]) {
    const result = await cli([...argv, '--json'])
    t.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr.join('\n')}`)
  }
  const types = (await eventsOf(id)).filter((event) => event.actor === 'cli').map((event) => event.type)
  for (const type of [
    'roles_changed',
    'email_verified',
    'account_disabled',
    'account_enabled',
    'factors_reset',
    'password_reset_requested',
  ])
    t.ok(types.includes(type), `${type} names the CLI`)

  // The admin API calls the same functions with its own actor.
  await setUserRoles(ctx.deps, id, ['auditor'], ADMIN)
  t.match(
    (await eventsOf(id, 'roles_changed')).find((event) => event.actor === 'user:admin-1'),
    { detail: { roles: ['auditor'] } },
    'the API actor',
  )
})

t.test('refusals are typed errors, each one CLI line', async (t) => {
  const user = await ctx.addUser({ email: 'ada@example.com' })
  await t.rejects(createUser(ctx.deps, { email: 'ADA@example.com', password: PASSWORD }, ADMIN), EmailTaken)
  await t.rejects(createUser(ctx.deps, { email: 'x@example.com', password: 'short' }, ADMIN), {
    name: 'InvalidAccountInput',
    field: 'password',
  })
  await t.rejects(updateUser(ctx.deps, 'no-such-id', { name: 'x' }, ADMIN), UnknownUser)
  await t.rejects(updateUser(ctx.deps, user.id, { email: 'not an address' }, ADMIN), InvalidAccountInput)
  const other = await ctx.addUser({ email: 'other@example.com' })
  const lines: [string[], string][] = [
    [['users', 'update', other.email, '--email', 'ada@example.com'], `idp: ada@example.com already belongs to user ${user.id}`],
    [['users', 'update', other.email], 'idp: nothing to change: give --name, --no-name or --email'],
    [['users', 'update', other.email, '--name', 'x'.repeat(201)], 'idp: --name: at most 200 characters'],
    [['users', 'show', 'nobody@example.com'], 'idp: no user with email nobody@example.com'],
    [['users', 'delete', 'nobody@example.com', '--yes'], 'idp: no user with email nobody@example.com'],
    [['users', 'export', 'nobody@example.com'], 'idp: no user with email nobody@example.com'],
  ]
  for (const [argv, line] of lines) {
    const result = await cli(argv)
    t.same([result.code, result.stderr], [1, [line]], argv.join(' '))
  }
  const refused = await cli(['users', 'delete', other.email])
  t.equal(refused.code, 1)
  t.match(refused.stderr, [/^idp: deleting other@example\.com removes the account and all its data for good; add --yes/])
  t.ok(await ctx.deps.repos.users.findById(other.id), 'without --yes nothing is deleted')
})

/** Every table row that still names the user (the tables without a foreign key included). */
async function rowsAbout(userId: string, grantIds: readonly string[]): Promise<Record<string, number>> {
  const db = ctx.deps.store.db
  const count = async (query: { execute(): Promise<unknown[]> }) => (await query.execute()).length
  const byUser = [
    'users',
    'sessions',
    'grants',
    'consents',
    'account_tokens',
    'webauthn_credentials',
    'totp_factors',
    'recovery_codes',
    'pending_logins',
    'webauthn_challenges',
    'authorization_codes',
    'device_codes',
    'federated_identities',
  ] as const
  const counts: Record<string, number> = {}
  for (const table of byUser)
    counts[table] = await count(
      table === 'users'
        ? db.selectFrom('users').select('id').where('id', '=', userId)
        : db.selectFrom(table).select('user_id').where('user_id', '=', userId),
    )
  counts['upstream_logins'] = await count(db.selectFrom('upstream_logins').select('id_hash').where('link_user_id', '=', userId))
  if (grantIds.length > 0) {
    counts['refresh_tokens'] = await count(db.selectFrom('refresh_tokens').select('grant_id').where('grant_id', 'in', grantIds))
  }
  return counts
}

/** A user with something in every table: sessions and grants from real sign-ins, factors, a consent, a link, a reset token. */
async function fullUser(email: string) {
  const user = await ctx.addUser({ email, password: PASSWORD, roles: ['staff'] })
  const logoutRp = await addLogoutClient(ctx, { name: 'Logout app', backchannelLogoutUri: 'https://logout-app.example/backchannel' })
  const plainRp = await ctx.addClient({ name: 'Plain app' })
  const first = await signIn(ctx, logoutRp, user)
  const second = await signIn(ctx, plainRp, user, { jar: new CookieJar() })
  await obtainCode(ctx, plainRp, user, { jar: second.jar })
  const now = ctx.clock.now()
  await ctx.deps.repos.passkeys.insert({
    id: randomId(),
    userId: user.id,
    name: 'Laptop',
    publicKey: 'PASSKEY-PUBLIC-KEY-MARKER',
    counter: 3,
    transports: ['internal'],
    deviceType: 'multiDevice',
    backedUp: true,
    aaguid: '00000000-0000-0000-0000-000000000000',
    createdAt: now,
    lastUsedAt: null,
  })
  await ctx.deps.repos.totp.startSetup(user.id, 'SEALED-TOTP-SECRET-MARKER', now)
  await ctx.deps.repos.totp.acceptTimeStep(user.id, 1, now, true)
  await ctx.deps.repos.recoveryCodes.replace(user.id, [hashSecret(`recovery-one ${email}`), hashSecret(`recovery-two ${email}`)], now)
  await ctx.deps.repos.consents.grant(user.id, plainRp.client.id, 'openid email', now)
  await ctx.deps.repos.webauthnChallenges.insert(randomToken(), 'register', user.id, now, 300)
  await ctx.deps.repos.pendingLogins.insert({
    idHash: hashSecret(randomToken()),
    userId: user.id,
    amr: ['pwd'],
    interactionId: null,
    sessionIdHash: null,
    createdAt: now,
    expiresAt: now + 300,
  })
  await ctx.deps.repos.federatedIdentities.insert({
    id: randomId(),
    connectionId: 'corp',
    subject: `upstream ${email}`,
    userId: user.id,
    email,
    tokens: 'SEALED-UPSTREAM-TOKENS-MARKER',
    createdAt: now,
    lastUsedAt: now,
  })
  const reset = await cli(['users', 'reset-link', email, '--json'])
  if (reset.code !== 0) throw new Error(reset.stderr.join('\n'))
  const grantIds = (await ctx.deps.store.db.selectFrom('grants').select('id').where('user_id', '=', user.id).execute()).map((row) => row.id)
  // The second grant's refresh token as an earlier version stored it (one row in refresh_tokens).
  const secondGrantId = (claims(second.tokens.access_token)['jti'] as string).split('.')[1]!
  const storedRefreshToken = await issueLegacyRefreshToken(ctx, secondGrantId)
  return { user, logoutRp, plainRp, tokens: [first.tokens, { ...second.tokens, refresh_token: storedRefreshToken }], grantIds }
}

t.test('users export: the data, and no hash, key or secret; --to writes a private new file', async (t) => {
  const { user, plainRp, tokens } = await fullUser('export.me@example.com')
  const shown = await cli(['users', 'show', user.email, '--json'])
  t.match(shown.json, { id: user.id, roles: ['staff'], factors: { passkeys: 1, totp: true, recovery_codes: 2 }, live_sessions: 2 })
  t.match(shown.json['linked_identities'], [{ connection_id: 'corp', subject: `upstream ${user.email}` }])

  const exported = await cli(['users', 'export', user.email, '--json'])
  t.equal(exported.code, 0, exported.stderr.join('\n'))
  const document = exported.json
  t.match(document, {
    format: 'tessera-user-data',
    version: 1,
    profile: { sub: user.id, email: user.email, roles: ['staff'], email_verified: true, has_password: true },
    second_factors: {
      passkeys: [{ name: 'Laptop', device_type: 'multiDevice', backed_up: true }],
      authenticator_app: { confirmed_at: String },
      recovery_codes_left: 2,
    },
    consents: [{ client_id: plainRp.client.id, client_name: 'Plain app', scope: 'openid email' }],
    linked_identities: [{ connection_id: 'corp', subject: `upstream ${user.email}`, email: user.email }],
  })
  t.equal((document['sessions'] as unknown[]).length, 2, 'both sessions')
  t.equal((document['grants'] as unknown[]).length, 2, 'both grants')
  t.ok(
    (document['security_events'] as { type: string }[]).some((event) => event.type === 'password_reset_requested'),
    'recent security events',
  )

  const stored = await ctx.deps.repos.users.findById(user.id)
  const text = JSON.stringify(document)
  const secrets = [
    stored!.passwordHash,
    'SEALED-TOTP-SECRET-MARKER',
    'PASSKEY-PUBLIC-KEY-MARKER',
    'SEALED-UPSTREAM-TOKENS-MARKER',
    hashSecret(`recovery-one ${user.email}`),
    ...tokens.flatMap((set) => [set.access_token, set.refresh_token!, set.id_token!, hashSecret(set.refresh_token!)]),
    ...(
      await ctx.deps.store.db.selectFrom('sessions').select(['id_hash', 'sid', 'handle']).where('user_id', '=', user.id).execute()
    ).flatMap((row) => [row.id_hash, row.sid, row.handle ?? 'none']),
    ...(await ctx.deps.store.db.selectFrom('account_tokens').select('token_hash').where('user_id', '=', user.id).execute()).map(
      (row) => row.token_hash,
    ),
  ]
  for (const secret of secrets) t.notOk(text.includes(secret), `no ${secret.slice(0, 12)}…`)
  const keys: string[] = []
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk)
    else if (typeof value === 'object' && value !== null)
      for (const [key, inner] of Object.entries(value)) {
        keys.push(key)
        walk(inner)
      }
  }
  walk(document)
  t.same(
    keys.filter((key) => /hash|secret|public_key|token|^sid$|handle|^password$|^counter$/i.test(key)),
    [],
    'no member names a hash, key or secret',
  )

  const file = path.join(ctx.dir, 'export.json')
  const written = await cli(['users', 'export', user.email, '--to', file, '--json'])
  t.same(written.json, { exported: user.email, id: user.id, file })
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
  t.match(JSON.parse(fs.readFileSync(file, 'utf8')), { profile: { sub: user.id } })
  const again = await cli(['users', 'export', user.email, '--to', file])
  t.match(again.stderr, [/exists already/], 'an existing file is never overwritten')
  t.match(await eventsOf(user.id, 'user_data_exported'), [{ actor: 'cli' }])
})

t.test('users delete: every row about the user goes; sessions end with back-channel logout jobs; audit rows stay', async (t) => {
  const { user, logoutRp, plainRp, tokens, grantIds } = await fullUser('delete.me@example.com')
  const before = await rowsAbout(user.id, grantIds)
  for (const table of [
    'users',
    'sessions',
    'grants',
    'consents',
    'account_tokens',
    'webauthn_credentials',
    'totp_factors',
    'recovery_codes',
    'pending_logins',
    'webauthn_challenges',
    'authorization_codes',
    'federated_identities',
    'refresh_tokens',
  ])
    t.ok((before[table] ?? 0) > 0, `before: ${table} has rows about the user`)

  const deleted = await cli(['users', 'delete', user.email, '--yes', '--json'])
  t.equal(deleted.code, 0, deleted.stderr.join('\n'))
  t.match(deleted.json, { deleted: user.email, id: user.id, removed: { sessions: 2, grants: 2, passkeys: 1, linked_identities: 1 } })

  const after = await rowsAbout(user.id, grantIds)
  t.same(
    Object.entries(after).filter(([, count]) => count > 0),
    [],
    'no table holds a row about the user',
  )
  const jobs = await ctx.deps.store.db.selectFrom('outbox').select(['kind', 'payload']).where('kind', '=', 'backchannel_logout').execute()
  const payloads = jobs.map((job) => JSON.parse(job.payload) as Record<string, unknown>).filter((payload) => payload['sub'] === user.id)
  t.match(payloads, [{ clientId: logoutRp.client.id, sub: user.id, sid: String }], 'one logout job: the client with a logout URI')
  t.equal((await refresh(ctx, plainRp, tokens[1]!.refresh_token!)).statusCode, 400, 'its refresh tokens are dead')
  t.equal((await userinfo(ctx, tokens[1]!.access_token)).statusCode, 401, 'its access tokens are dead (their grant is gone)')
  t.equal(await loginStatus(ctx, user.email, PASSWORD), 401, 'the account cannot sign in')

  const events = await eventsOf(user.id)
  t.ok(events.length > 2, 'audit events keep the user id')
  const audit = await cli(['audit', '--user', user.id, '--type', 'user_deleted', '--json'])
  t.match(audit.json['events'], [{ type: 'user_deleted', user_id: user.id }], 'idp audit finds them by the id')
  t.match(
    events.find((event) => event.type === 'user_deleted'),
    { actor: 'cli', detail: { sessions: 2, grants: 2 } },
  )
  t.notOk(
    JSON.stringify(events.find((event) => event.type === 'user_deleted')).includes(user.email),
    'the deletion event does not name the address',
  )

  // The service the admin API calls, with its own actor; a second delete is an unknown user.
  const other = await ctx.addUser()
  await deleteUser(ctx.deps, other.id, ADMIN)
  t.match(await eventsOf(other.id, 'user_deleted'), [{ actor: 'user:admin-1' }])
  await t.rejects(deleteUser(ctx.deps, other.id, ADMIN), UnknownUser)
  await t.rejects(exportUserData(ctx.deps, other.id, ADMIN), UnknownUser)
})
