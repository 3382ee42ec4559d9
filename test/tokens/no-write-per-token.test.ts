/**
 * No database write per access token (issue 20): issuing one writes nothing of its own — a
 * client_credentials token writes no row at all, a refresh adds none (its grant moves to the
 * next refresh-token generation) — and revocation stays exact: a token dies with its grant
 * (refresh-token reuse, the refresh token revoked), with its client (removed), or alone (RFC
 * 7009), at /userinfo and at /introspect alike. Runs on SQLite and PostgreSQL (TEST_DATABASE).
 */
import t from 'tap'
import { sql } from 'kysely'
import { claims, introspect, post, refresh, revoke, signIn, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { deleteClient } from '../../src/clients/lifecycle.js'
import { CLI_ACTOR } from '../../src/model/actor.js'

/** Rows in every table (migration bookkeeping aside). */
async function rowCounts(ctx: TestApp): Promise<Record<string, number>> {
  const db = ctx.deps.store.db
  const tables = (await db.introspection.getTables()).map((table) => table.name).filter((name) => !name.startsWith('kysely_'))
  const counts: Record<string, number> = {}
  for (const table of tables.sort()) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db)
    counts[table] = Number(rows[0]!.n)
  }
  return counts
}

const changed = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.keys(after)
      .filter((table) => after[table] !== before[table])
      .map((table) => [table, after[table]! - (before[table] ?? 0)]),
  )

t.test('client_credentials: twenty tokens, not one row written; each still revocable alone or with its client', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const svc = await ctx.addClient({ name: 'Billing', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['api:read'] })
  const introspector = await ctx.addClient({ name: 'API', grantTypes: ['client_credentials'], redirectUris: [], introspect: true })
  await post(ctx, '/token', svc, { grant_type: 'client_credentials' }) // warm-up: anything written once per client
  const before = await rowCounts(ctx)
  const tokens: string[] = []
  for (let i = 0; i < 20; i += 1) {
    const response = await post(ctx, '/token', svc, { grant_type: 'client_credentials' })
    t.equal(response.statusCode, 200)
    tokens.push((response.json() as Tokens).access_token)
  }
  t.same(changed(before, await rowCounts(ctx)), {}, 'no table gained or lost a row')
  t.match(claims(tokens[0]!)['jti'], /^c\./, 'the jti says the token lives with its client')

  t.equal((await revoke(ctx, svc, tokens[0]!)).statusCode, 200)
  t.same(
    changed(before, await rowCounts(ctx)),
    { revoked_access_tokens: 1, audit_events: 1 },
    'revoking one token is one row (and its audit event)',
  )
  t.match(await introspect(ctx, introspector, tokens[0]!), { active: false }, 'the revoked token is inactive')
  t.match(await introspect(ctx, introspector, tokens[1]!), { active: true }, 'the others are not')

  await deleteClient(ctx.deps, svc.client.id, CLI_ACTOR)
  t.match(await introspect(ctx, introspector, tokens[1]!), { active: false }, 'a removed client’s tokens die with it')
})

t.test('code and refresh: no access-token row; the token dies with its grant', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ name: 'Web app' })
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  t.match(claims(tokens.access_token)['jti'], /^g\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'the jti names the grant')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200)

  const before = await rowCounts(ctx)
  const refreshed = (await refresh(ctx, rp, tokens.refresh_token!)).json() as Tokens
  const written = changed(before, await rowCounts(ctx))
  t.same(written, {}, 'a refresh adds no row: its grant moves to the next refresh-token generation, and the access token is not recorded')
  t.equal((await ctx.deps.store.db.selectFrom('access_tokens').select('jti').execute()).length, 0, 'no access-token rows at all')

  // Reusing the rotated-out refresh token is theft (RFC 9700 §4.14.2): the grant and every token of it die.
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 400)
  t.equal((await userinfo(ctx, refreshed.access_token)).statusCode, 401, 'the newest access token is dead with its grant')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'and the first one')

  const again = await signIn(ctx, rp, user)
  t.equal((await revoke(ctx, rp, again.tokens.refresh_token!)).statusCode, 200)
  t.equal(
    (await userinfo(ctx, again.tokens.access_token)).statusCode,
    401,
    'revoking the refresh token ends its access tokens (RFC 7009 §2.1)',
  )
})
