/**
 * A code is worth something only while the login session it was issued in is live (RFC 6749
 * §4.1.2 binds it to the authorization; docs/security.md §C): logging out between the redirect
 * and the redemption voids it; signing in again in the same browser carries it over.
 */
import t from 'tap'
import { CookieJar, getPage, obtainCode, postForm, redeem } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

t.test('a code redeemed after its session was logged out is invalid_grant', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const { code, verifier, jar } = await obtainCode(ctx, rp, user)

  const confirm = await getPage(ctx, jar, '/logout')
  t.equal(confirm.statusCode, 200, 'logout without a hint asks first')
  const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)![1]!
  t.equal((await postForm(ctx, jar, '/logout/confirm', { _csrf: csrf, decision: 'logout' })).statusCode, 200, 'signed out')

  const answer = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(answer.statusCode, 400)
  t.equal(answer.json().error, 'invalid_grant', 'the code died with its session')
  const again = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(again.json().error, 'invalid_grant', 'and stays dead (it was never consumed, so no replay is reported)')
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'code_reuse', limit: 10 })).length, 0)
})

t.test('signing in again in the same browser keeps its unredeemed code valid', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient()
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const first = await obtainCode(ctx, rp, user, { jar })
  // prompt=login in another tab: a fresh session replaces the one the first code was issued in.
  const second = await obtainCode(ctx, rp, user, { jar, params: { prompt: 'login' } })
  t.not(first.code, second.code)
  t.equal(
    (await redeem(ctx, rp, first.code, { code_verifier: first.verifier })).statusCode,
    200,
    'the earlier code moved to the new session',
  )
  t.equal((await redeem(ctx, rp, second.code, { code_verifier: second.verifier })).statusCode, 200)
})
