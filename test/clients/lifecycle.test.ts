/**
 * A client's life after registration, through the service layer (clients/lifecycle.ts) and the
 * `idp clients` commands on it: update (the registration rules judge the result; each refusal is
 * one CLI line and changes nothing), show, secret rotation with an overlap (the old secret works
 * at the token endpoint until the overlap ends, on the test app's fake clock), delete (its tokens
 * die with it), and an audit event naming the actor for every change.
 */
import t from 'tap'
import {
  deleteClient,
  getClient,
  rotateClientSecret,
  updateClient,
  UnknownClient,
  ClientChangeRefused,
} from '../../src/clients/lifecycle.js'
import type { Actor } from '../../src/model/actor.js'
import { cliFor } from '../helpers/cli.js'
import { introspect, post, refresh, signIn, type RegisteredClient } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const cli = cliFor(ctx)
const ADMIN: Actor = { kind: 'user', userId: 'admin-user-1' }

/** The audit events of a type about a client (events of one second have no order among themselves). */
const events = async (type: string, clientId: string) =>
  (await ctx.deps.repos.auditEvents.list({ type, limit: 200 })).filter((event) => event.clientId === clientId)

/** The event of a type about a client recorded for this actor (the last one when there are several). */
async function eventBy(type: string, clientId: string, actor: string) {
  const found = (await events(type, clientId)).filter((event) => event.detail['actor'] === actor)
  return found.sort((a, b) => a.at - b.at).at(-1)
}

/** A client_credentials token request with this secret: the status. */
const tokenStatus = async (client: RegisteredClient['client'], secret: string) =>
  (await post(ctx, '/token', { client, secret }, { grant_type: 'client_credentials' })).statusCode

t.test('clients add is audited with its actor; show tells settings, APIs and no secret', async (t) => {
  const api = await cli(['apis', 'add', '--identifier', 'https://orders.example', '--name', 'Orders', '--scope', 'orders:read', '--json'])
  t.equal(api.code, 0, api.stderr.join('\n'))
  const added = await cli([
    'clients',
    'add',
    '--name',
    'Shop',
    '--redirect-uri',
    'https://shop.example/cb',
    '--api',
    'https://orders.example',
    '--json',
  ])
  t.equal(added.code, 0, added.stderr.join('\n'))
  const id = added.json['client_id'] as string
  t.match((await eventBy('client_registered', id, 'cli'))?.detail, { actor: 'cli', name: 'Shop' }, 'client_registered names the CLI')

  const shown = await cli(['clients', 'show', id, '--json'])
  t.equal(shown.code, 0, shown.stderr.join('\n'))
  t.match(shown.json, {
    client_id: id,
    name: 'Shop',
    type: 'confidential',
    redirect_uris: ['https://shop.example/cb'],
    apis: ['https://orders.example'],
    previous_secret_expires_at: null,
  })
  const text = (await cli(['clients', 'show', id])).stdout.join('\n')
  t.match(text, /^redirect_uris:\s+https:\/\/shop\.example\/cb$/m, 'text output, one setting a line')
  for (const output of [JSON.stringify(shown.json), text]) {
    t.notMatch(output, /secret_hash|registration_token/, 'no hash is shown')
    t.notOk(output.includes(added.json['client_secret'] as string), 'nor the secret')
  }
  const unknown = await cli(['clients', 'show', 'no-such-client'])
  t.same([unknown.code, unknown.stderr], [1, ['idp: no client with id no-such-client']])
})

t.test('clients update replaces the lists given, keeps the others, and is audited', async (t) => {
  const { client } = await ctx.addClient({
    name: 'Portal',
    redirectUris: ['https://portal.example/cb'],
    postLogoutRedirectUris: ['https://portal.example/bye'],
  })
  const updated = await cli([
    'clients',
    'update',
    client.id,
    '--name',
    'Portal 2',
    '--redirect-uri',
    'https://portal.example/v2/cb',
    '--redirect-uri',
    'http://127.0.0.1/cb',
    '--scope',
    'email',
    '--require-mfa',
    '--json',
  ])
  t.equal(updated.code, 0, updated.stderr.join('\n'))
  t.match(updated.json, {
    name: 'Portal 2',
    redirect_uris: ['https://portal.example/v2/cb', 'http://127.0.0.1/cb'],
    post_logout_redirect_uris: ['https://portal.example/bye'],
    scopes: ['openid', 'email'],
    grant_types: ['authorization_code', 'refresh_token'],
    require_mfa: true,
  })
  const event = await eventBy('client_updated', client.id, 'cli')
  t.match(event?.detail, { actor: 'cli' })
  t.same(
    [...((event?.detail['changed'] as string[]) ?? [])].sort(),
    ['name', 'redirect_uris', 'require_mfa', 'scopes'],
    'the changed fields',
  )

  const cleared = await cli(['clients', 'update', client.id, '--no-post-logout-redirect-uri', '--json'])
  t.same(cleared.json['post_logout_redirect_uris'], [], '--no-post-logout-redirect-uri empties the list')

  // The admin API calls the same function with its own actor.
  const details = await updateClient(ctx.deps, client.id, { grantTypes: ['authorization_code'] }, ADMIN)
  t.same(details.client.grantTypes, ['authorization_code'])
  t.match((await eventBy('client_updated', client.id, 'user:admin-user-1'))?.detail, {
    actor: 'user:admin-user-1',
    changed: ['grant_types'],
  })
})

t.test('update refusals: one line naming the flag, and nothing changes', async (t) => {
  const { client } = await ctx.addClient({ name: 'Strict', redirectUris: ['https://strict.example/cb'] })
  const { client: native } = await ctx.addClient({ name: 'Native', isPublic: true, redirectUris: ['http://127.0.0.1/cb'] })
  const before = await getClient(ctx.deps, client.id)
  const cases: [string[], RegExp][] = [
    [['--redirect-uri', 'http://strict.example/cb'], /^idp: --redirect-uri http:\/\/strict\.example\/cb: /],
    [['--redirect-uri', 'https://strict.example/cb#frag'], /^idp: --redirect-uri https:\/\/strict\.example\/cb#frag: /],
    [['--redirect-uri', 'JaVaScRiPt:alert(1)'], /^idp: --redirect-uri JaVaScRiPt:alert\(1\): /],
    [['--grant-type', 'password'], /^idp: --grant-type password: must be one of /],
    [['--scope', 'bad"scope'], /^idp: --scope bad"scope: invalid scope$/],
    [['--api', 'https://unknown.example'], /^idp: --api https:\/\/unknown\.example: no such API/],
    [['--name', ' '], /^idp: --name: is required/],
    [['--backchannel-logout-uri', 'http://strict.example/logout'], /^idp: --backchannel-logout-uri http:\/\/strict\.example\/logout: /],
    [['--backchannel-logout-uri', ''], /^idp: --backchannel-logout-uri: give a URL, or --no-backchannel-logout-uri/],
    [['--backchannel-logout-session-required'], /^idp: --backchannel-logout-session-required: needs a back-channel logout URI$/],
    [['--require-par', '--redirect-uri', 'https://strict.example/*'], /^idp: --redirect-uri https:\/\/strict\.example\/\*: /],
    [[], /^idp: nothing to change: /],
  ]
  for (const [flags, message] of cases) {
    const result = await cli(['clients', 'update', client.id, ...flags, '--json'])
    t.equal(result.code, 1, flags.join(' ') || '(no flags)')
    t.equal(result.stderr.length, 1, 'one line')
    t.match(result.stderr[0], message)
    t.match(result.json, { error: String }, 'with --json the error is the last stdout line too')
  }
  const publicCredentials = await cli(['clients', 'update', native.id, '--grant-type', 'client_credentials'])
  t.match(publicCredentials.stderr, [/^idp: --grant-type client_credentials: public clients cannot use client_credentials$/])
  const noRedirect = await cli(['clients', 'update', native.id, '--grant-type', 'authorization_code', '--redirect-uri', ''])
  t.equal(noRedirect.code, 1, 'an empty redirect URI is refused')
  t.same(await getClient(ctx.deps, client.id), before, 'nothing changed')
  t.same(await cli(['clients', 'update', 'no-such-client', '--require-mfa']).then((r) => r.stderr), [
    'idp: no client with id no-such-client',
  ])

  // The typed errors the admin API maps to problems.
  await t.rejects(updateClient(ctx.deps, client.id, { grantTypes: [] }, ADMIN), {
    name: 'InvalidClientMetadata',
    field: 'grant_types',
    reason: 'grant_types_empty',
    problem: 'give at least one grant type',
  })
  await t.rejects(updateClient(ctx.deps, 'nope', { name: 'x' }, ADMIN), UnknownClient)
})

t.test('rotate-secret: the old secret works until the overlap ends, the new one from the start', async (t) => {
  const service = await ctx.addClient({ name: 'Billing', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['billing:read'] })
  const oldSecret = service.secret!
  t.equal(await tokenStatus(service.client, oldSecret), 200, 'before: the secret works')

  const rotated = await cli(['clients', 'rotate-secret', service.client.id, '--overlap', '1h', '--json'])
  t.equal(rotated.code, 0, rotated.stderr.join('\n'))
  const newSecret = rotated.json['client_secret'] as string
  t.type(newSecret, 'string')
  t.not(newSecret, oldSecret)
  t.type(rotated.json['previous_secret_expires_at'], 'number')
  t.equal(await tokenStatus(service.client, newSecret), 200, 'the new secret works at once')
  t.equal(await tokenStatus(service.client, oldSecret), 200, 'the old one still works within the overlap')
  const shown = await cli(['clients', 'show', service.client.id, '--json'])
  t.equal(shown.json['previous_secret_expires_at'], rotated.json['previous_secret_expires_at'], 'show tells when the old one ends')
  t.match((await eventBy('client_secret_rotated', service.client.id, 'cli'))?.detail, { actor: 'cli', overlap: 3600 })

  // The CLI stamped the end with the wall clock; the app's fake clock moves past it.
  ctx.clock.set((rotated.json['previous_secret_expires_at'] as number) + 1)
  t.equal(await tokenStatus(service.client, oldSecret), 401, 'after the overlap the old secret fails')
  t.equal(await tokenStatus(service.client, newSecret), 200, 'the new one keeps working')

  // Through the service on the app's clock: --overlap 0 ends the previous secret at once.
  const now = await rotateClientSecret(ctx.deps, service.client.id, { overlapSeconds: 0 }, ADMIN)
  t.equal(now.previousSecretExpiresAt, null)
  t.equal(await tokenStatus(service.client, newSecret), 401, 'overlap 0: the replaced secret stops at once')
  t.equal(await tokenStatus(service.client, now.secret), 200)
  const next = await rotateClientSecret(ctx.deps, service.client.id, { overlapSeconds: 600 }, ADMIN)
  ctx.clock.advance(599)
  t.equal(await tokenStatus(service.client, now.secret), 200, 'within a 10-minute overlap')
  ctx.clock.advance(1)
  t.equal(await tokenStatus(service.client, now.secret), 401, 'at its end: refused')
  t.equal(await tokenStatus(service.client, next.secret), 200)
  const byAdmin = (await events('client_secret_rotated', service.client.id)).filter(
    (event) => event.detail['actor'] === 'user:admin-user-1',
  )
  t.same(byAdmin.map((event) => event.detail['overlap']).sort(), [0, 600], 'each rotation is an event naming its actor')
})

t.test('rotate-secret refusals', async (t) => {
  const { client: native } = await ctx.addClient({ name: 'Native app', isPublic: true, redirectUris: ['http://127.0.0.1/cb'] })
  const { client } = await ctx.addClient({ name: 'Web' })
  t.same((await cli(['clients', 'rotate-secret', native.id])).stderr, [`idp: client ${native.id}: a public client has no secret`])
  t.same((await cli(['clients', 'rotate-secret', client.id, '--overlap', '31d'])).stderr, [
    'idp: --overlap 2678400: must be from 0 (the old secret stops at once) to 30 days',
  ])
  t.same((await cli(['clients', 'rotate-secret', client.id, '--overlap', 'soon'])).stderr, [
    'idp: --overlap takes a duration such as 0, 1h, 24h or 7d',
  ])
  t.same((await cli(['clients', 'rotate-secret', 'nope'])).stderr, ['idp: no client with id nope'])
  await t.rejects(rotateClientSecret(ctx.deps, native.id, {}, ADMIN), ClientChangeRefused)
})

t.test('delete: the client goes with its grants and tokens, audited with the actor', async (t) => {
  const rp = await ctx.addClient({ name: 'Doomed' })
  const rs = await ctx.addClient({ name: 'Resource server', grantTypes: ['client_credentials'], redirectUris: [], introspect: true })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  t.equal((await introspect(ctx, rs, tokens.access_token))['active'], true, 'before: the access token is live')

  const removed = await cli(['clients', 'remove', rp.client.id, '--json'])
  t.same([removed.code, removed.json], [0, { removed: rp.client.id }], removed.stderr.join('\n'))
  t.equal(await ctx.deps.repos.clients.find(rp.client.id), undefined)
  t.equal((await introspect(ctx, rs, tokens.access_token))['active'], false, 'its access token is revoked')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 401, 'its refresh token is useless')
  t.match((await eventBy('client_removed', rp.client.id, 'cli'))?.detail, { actor: 'cli', name: 'Doomed' })
  t.same((await cli(['clients', 'remove', rp.client.id])).stderr, [`idp: no client with id ${rp.client.id}`], 'gone')

  const other = await ctx.addClient({ name: 'Other' })
  await deleteClient(ctx.deps, other.client.id, { kind: 'client', clientId: 'admin-automation' })
  t.match((await eventBy('client_removed', other.client.id, 'client:admin-automation'))?.detail, { actor: 'client:admin-automation' })
})
