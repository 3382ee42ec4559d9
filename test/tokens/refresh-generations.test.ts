/**
 * Refresh tokens as generations of their grant's family (tokens/refresh.ts): a rotated token is
 * recognised as reuse with no row per rotation, for as long as the grant lives; a token that was
 * never issued (a wrong MAC, a generation the grant has not reached) is refused without touching
 * the family; tokens stored one row each by earlier versions keep working and move their family
 * to generations. Runs on SQLite and PostgreSQL (TEST_DATABASE).
 */
import t, { type Test } from 'tap'
import { claims, introspect, refresh, revoke, signIn, userinfo, type RegisteredClient, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { issueLegacyRefreshToken } from '../helpers/legacy-refresh-token.js'
import { pruneExpired } from '../../src/db/repositories/maintenance.js'
import { withCharacterChanged } from '../helpers/forgery.js'

const grantIdOf = (tokens: Tokens): string => (claims(tokens.access_token)['jti'] as string).split('.')[1]!

async function refreshed(t: Test, ctx: TestApp, rp: RegisteredClient, token: string): Promise<Tokens> {
  const response = await refresh(ctx, rp, token)
  t.equal(response.statusCode, 200, `refresh answered ${response.body}`)
  return response.json() as Tokens
}

/** A test app with a user signed in to a client with offline access: its first token set and grant. */
async function signedIn(t: Test, env: Record<string, string> = {}) {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user)
  return { ctx, rp, user, tokens, grantId: grantIdOf(tokens) }
}

async function familyOf(ctx: TestApp, grantId: string) {
  return ctx.deps.store.db
    .selectFrom('grants')
    .select(['refresh_generation', 'refresh_issued_at', 'refresh_idle_expires_at', 'revoked_at'])
    .where('id', '=', grantId)
    .executeTakeFirstOrThrow()
}

t.test('each refresh moves the grant one generation on; any earlier token is reuse and ends the family', async (t) => {
  const { ctx, rp, tokens, grantId } = await signedIn(t)
  t.match(tokens.refresh_token, new RegExp(`^[A-Za-z0-9_-]{43}\\.${grantId}\\.0$`), 'the first token is generation 0 of its grant')
  t.equal(Number((await familyOf(ctx, grantId)).refresh_generation), 0)

  ctx.clock.advance(60)
  const second = await refreshed(t, ctx, rp, tokens.refresh_token!)
  ctx.clock.advance(60)
  const third = await refreshed(t, ctx, rp, second.refresh_token!)
  const family = await familyOf(ctx, grantId)
  t.equal(Number(family.refresh_generation), 2, 'two refreshes: generation 2')
  t.equal(Number(family.refresh_issued_at), ctx.clock.now(), 'issued at the last refresh')
  t.equal(Number(family.refresh_idle_expires_at), ctx.clock.now() + ctx.deps.config.refreshTokenIdleTtl, 'its idle expiry counts from then')
  t.equal((await ctx.deps.store.db.selectFrom('refresh_tokens').select('token_hash').execute()).length, 0, 'no refresh-token rows at all')
  t.match(await introspect(ctx, rp, third.refresh_token!), { active: true, token_type: 'refresh_token', iat: ctx.clock.now() })
  t.match(await introspect(ctx, rp, second.refresh_token!), { active: false }, 'a rotated token is not active')

  // Two generations back: the owner refreshed twice since the token was stolen (RFC 9700 §4.14.2).
  const replay = await refresh(ctx, rp, tokens.refresh_token!)
  t.equal(replay.json().error, 'invalid_grant', 'the oldest token is refused')
  t.not((await familyOf(ctx, grantId)).revoked_at, null, 'and the family is revoked')
  t.equal((await refresh(ctx, rp, third.refresh_token!)).json().error, 'invalid_grant', 'the current token dies with it')
  t.equal((await userinfo(ctx, third.access_token)).statusCode, 401, 'so does the newest access token')
  t.match(await introspect(ctx, rp, third.refresh_token!), { active: false })
})

t.test('a token that was never issued is refused and leaves the family alone', async (t) => {
  const { ctx, rp, tokens, grantId } = await signedIn(t)
  const [tag] = tokens.refresh_token!.split('.') as [string, string, string]
  const flipped = withCharacterChanged(tag, 0)
  const forged = [
    `${flipped}.${grantId}.0`, // a wrong MAC
    `${tag}.${grantId}.1`, // generation 0's MAC under generation 1
    `${tag}.${grantId}.00`, // another spelling of 0
    `${tag}.${grantId}.0.x`,
    `${grantId}.0`,
    `${tag}.x${grantId}.0`, // another grant
  ]
  for (const token of forged) {
    const response = await refresh(ctx, rp, token)
    t.equal(response.json().error, 'invalid_grant', `refused: ${token.slice(0, 40)}…`)
    t.match(await introspect(ctx, rp, token), { active: false })
  }
  t.equal((await familyOf(ctx, grantId)).revoked_at, null, 'none of them revoked the family')

  // A later generation than the grant's own (a database restored from an earlier backup, say):
  // refused as not ours, not taken for reuse.
  const next = await refreshed(t, ctx, rp, tokens.refresh_token!)
  await ctx.deps.store.db.updateTable('grants').set({ refresh_generation: 0 }).where('id', '=', grantId).execute()
  t.equal((await refresh(ctx, rp, next.refresh_token!)).json().error, 'invalid_grant', 'a generation from the future is refused')
  t.equal((await familyOf(ctx, grantId)).revoked_at, null, 'without revoking the family')

  // Another client presenting the token: refused without touching the family.
  const other = await ctx.addClient({ name: 'Other' })
  t.equal((await refresh(ctx, other, tokens.refresh_token!)).json().error, 'invalid_grant', 'another client is refused')
  t.match(await introspect(ctx, other, tokens.refresh_token!), { active: false }, 'and learns nothing')
  t.equal((await familyOf(ctx, grantId)).revoked_at, null)
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 200, 'the owner’s token still works')
})

t.test('of concurrent refreshes with the same token exactly one wins; the others count as reuse', async (t) => {
  const { ctx, rp, tokens, grantId } = await signedIn(t)
  const results = await Promise.all(Array.from({ length: 6 }, () => refresh(ctx, rp, tokens.refresh_token!)))
  const winners = results.filter((response) => response.statusCode === 200)
  t.equal(winners.length, 1, 'one winner')
  t.not((await familyOf(ctx, grantId)).revoked_at, null, 'the losers revoked the family')
  t.equal((await refresh(ctx, rp, (winners[0]!.json() as Tokens).refresh_token!)).json().error, 'invalid_grant')
})

t.test('revoking a generation token revokes its grant (RFC 7009 §2.1)', async (t) => {
  const { ctx, rp, tokens, grantId } = await signedIn(t)
  t.equal((await revoke(ctx, rp, tokens.refresh_token!)).statusCode, 200)
  t.not((await familyOf(ctx, grantId)).revoked_at, null, 'the grant is revoked')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'with its access token')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant')
})

t.test('reuse is recognised for as long as the grant lives: pruning keeps no row to lose', async (t) => {
  const { ctx, rp, tokens, grantId } = await signedIn(t, { REFRESH_TOKEN_IDLE_TTL: '1h' })
  ctx.clock.advance(30 * 60)
  await refreshed(t, ctx, rp, tokens.refresh_token!)
  ctx.clock.advance(3 * 86400) // days after either token's idle expiry, and after a pruning pass
  t.equal((await pruneExpired(ctx.deps.store.db, ctx.clock.now(), 86400)).grants, 0, 'the live grant is not pruned')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant')
  t.not((await familyOf(ctx, grantId)).revoked_at, null, 'the rotated token still revoked the family')
})

t.test('a refresh token stored by an earlier version keeps working and moves its family to generations', async (t) => {
  const { ctx, rp, user, tokens, grantId } = await signedIn(t)
  const legacy = await issueLegacyRefreshToken(ctx, grantId)
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant', 'a family without generations has none to match')
  t.equal((await familyOf(ctx, grantId)).revoked_at, null)
  t.match(await introspect(ctx, rp, legacy), { active: true, token_type: 'refresh_token' }, 'the stored token introspects')

  ctx.clock.advance(60)
  const next = await refreshed(t, ctx, rp, legacy)
  t.match(next.refresh_token, new RegExp(`\\.${grantId}\\.1$`), 'its successor is generation 1 of the grant')
  t.equal(Number((await familyOf(ctx, grantId)).refresh_generation), 1)
  const row = await ctx.deps.store.db.selectFrom('refresh_tokens').select('used_at').executeTakeFirstOrThrow()
  t.equal(Number(row.used_at), ctx.clock.now(), 'the stored token is marked used')
  t.match(await introspect(ctx, rp, legacy), { active: false })
  const after = await refreshed(t, ctx, rp, next.refresh_token!)

  t.equal((await refresh(ctx, rp, legacy)).json().error, 'invalid_grant', 'the stored token presented again is reuse')
  t.not((await familyOf(ctx, grantId)).revoked_at, null, 'and revokes the family')
  t.equal((await refresh(ctx, rp, after.refresh_token!)).json().error, 'invalid_grant')

  // Another stored token, revoked at /revoke: the grant goes.
  const second = await signIn(ctx, rp, user)
  const stored = await issueLegacyRefreshToken(ctx, grantIdOf(second.tokens))
  t.equal((await revoke(ctx, rp, stored, { token_type_hint: 'refresh_token' })).statusCode, 200)
  t.not((await familyOf(ctx, grantIdOf(second.tokens))).revoked_at, null, 'revoking a stored token revokes its grant')
})
