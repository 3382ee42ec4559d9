/**
 * RP-Initiated Logout 1.0 (docs/security.md §H): id_token_hint, post_logout_redirect_uri (registered
 * only), state, client_id; a confirmation page without a valid hint; the server-side session ends;
 * every grant of the session dies, offline_access ones included (back-channel-logout.test.ts
 * covers what relying parties are told).
 */
import t from 'tap'
import {
  CookieJar,
  getPage,
  hiddenField,
  introspect,
  postForm,
  refresh,
  signIn,
  silentAuthorize,
  userinfo,
  type RegisteredClient,
} from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const BYE = 'https://rp.example/bye'

const copyOf = (jar: CookieJar): CookieJar => {
  const copy = new CookieJar()
  for (const [name, value] of jar.cookies) copy.cookies.set(name, value)
  return copy
}

async function isSignedIn(ctx: TestApp, rp: RegisteredClient, jar: CookieJar): Promise<boolean> {
  const location = await silentAuthorize(ctx, rp, jar)
  if (location.searchParams.has('code')) return true
  if (location.searchParams.get('error') !== 'login_required') throw new Error(`unexpected ${location.href}`)
  return false
}

t.test('GET and POST /logout with a valid id_token_hint end the session and redirect with state', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  for (const method of ['GET', 'POST'] as const) {
    const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid' })
    const stolenCookie = copyOf(jar)
    const params = new URLSearchParams({
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: BYE,
      state: 'st ate+/1',
      client_id: rp.client.id,
    }).toString()
    const response =
      method === 'GET'
        ? await ctx.app.inject({ method, url: `/logout?${params}`, headers: { cookie: jar.header() } })
        : await ctx.app.inject({
            method,
            url: '/logout',
            headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
            payload: params,
          })
    jar.store(response)
    t.equal(response.statusCode, 303, `${method}: 303`)
    const location = new URL(response.headers.location!)
    t.equal(`${location.origin}${location.pathname}`, BYE, `${method}: to the registered post_logout_redirect_uri`)
    t.equal(location.searchParams.get('state'), 'st ate+/1', `${method}: state returned byte for byte`)
    t.notOk(jar.cookies.has('tessera_session'), `${method}: session cookie cleared`)

    const none = await silentAuthorize(ctx, rp, jar)
    t.equal(none.searchParams.get('error'), 'login_required', `${method}: prompt=none → login_required`)
    t.equal(none.searchParams.get('state'), 'silent-state')
    t.equal(none.searchParams.get('iss'), ctx.issuer)
    t.equal(await isSignedIn(ctx, rp, stolenCookie), false, `${method}: the old session cookie is dead server-side`)
    t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, `${method}: the session’s access token is revoked`)
    t.equal((await introspect(ctx, rp, tokens.access_token)).active, false)
  }
})

t.test('logout ends every grant of the session, offline_access ones too; other sessions are untouched', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  const { tokens: offline, jar } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  const { tokens: online } = await signIn(ctx, rp, user, { scope: 'openid', jar })
  const elsewhere = await signIn(ctx, rp, user, { scope: 'openid' })

  const response = await ctx.app.inject({
    method: 'GET',
    url: `/logout?${new URLSearchParams({ id_token_hint: online.id_token! })}`,
    headers: { cookie: jar.header() },
  })
  t.equal(response.statusCode, 200, 'no post_logout_redirect_uri: a signed-out page')
  t.match(response.headers['content-type'], /^text\/html/)

  t.equal((await userinfo(ctx, online.access_token)).statusCode, 401, 'non-offline grant: access token revoked')
  const renewed = await refresh(ctx, rp, offline.refresh_token!)
  t.equal(renewed.statusCode, 400, 'the offline_access refresh token died with the session')
  t.equal(renewed.json().error, 'invalid_grant')
  t.equal((await userinfo(ctx, offline.access_token)).statusCode, 401, 'and its access token')
  t.equal((await userinfo(ctx, elsewhere.tokens.access_token)).statusCode, 200, 'another browser’s session is untouched')
  t.equal(await isSignedIn(ctx, rp, elsewhere.jar), true, 'the other browser is still signed in')
})

t.test('only a registered post_logout_redirect_uri is followed', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const other = await ctx.addClient({ postLogoutRedirectUris: ['https://other.example/bye'] })
  const user = await ctx.addUser()
  for (const uri of [
    'https://evil.example/bye',
    `${BYE}/`,
    `${BYE}?x=1`,
    other.client.postLogoutRedirectUris[0]!,
    'https://RP.example/bye',
  ]) {
    const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid' })
    const response = await ctx.app.inject({
      method: 'GET',
      url: `/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: uri, state: 's' })}`,
      headers: { cookie: jar.header() },
    })
    jar.store(response)
    t.equal(response.statusCode, 200, `${uri}: no redirect`)
    t.notOk(response.headers.location, `${uri}: no Location`)
    t.notMatch(response.body, uri, `${uri}: not linked from the page either`)
    t.equal(await isSignedIn(ctx, rp, jar), false, `${uri}: the session still ended`)
  }
})

t.test('without a valid id_token_hint: confirmation page; stay keeps, logout ends the session', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ name: 'Shop <&>', postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid' })

  for (const hint of [undefined, 'not-a-jwt', tokens.access_token]) {
    const query = new URLSearchParams({
      client_id: rp.client.id,
      post_logout_redirect_uri: BYE,
      state: 'abc',
      ...(hint ? { id_token_hint: hint } : {}),
    })
    const page = await getPage(ctx, jar, `/logout?${query}`)
    t.equal(page.statusCode, 200, 'confirmation page')
    t.match(page.body, /action="\/logout\/confirm"/)
    t.match(page.body, 'Shop &lt;&amp;&gt;', 'the client name, escaped')
    t.equal(await isSignedIn(ctx, rp, jar), true, 'a GET alone signs nobody out')
  }
  const page = await getPage(
    ctx,
    jar,
    `/logout?${new URLSearchParams({ client_id: rp.client.id, post_logout_redirect_uri: BYE, state: 'abc' })}`,
  )
  const fields = {
    _csrf: hiddenField(page.body, '_csrf'),
    client_id: hiddenField(page.body, 'client_id'),
    post_logout_redirect_uri: hiddenField(page.body, 'post_logout_redirect_uri'),
    state: hiddenField(page.body, 'state'),
  }

  const stay = await postForm(ctx, jar, '/logout/confirm', { ...fields, decision: 'stay' })
  t.equal(stay.statusCode, 200, 'stay: a page, no redirect')
  t.equal(await isSignedIn(ctx, rp, jar), true, 'stay: still signed in')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'stay: tokens untouched')

  const leave = await postForm(ctx, jar, '/logout/confirm', { ...fields, decision: 'logout' })
  t.equal(leave.statusCode, 303, 'logout: 303')
  t.equal(leave.headers.location, `${BYE}?state=abc`)
  t.equal(await isSignedIn(ctx, rp, jar), false, 'logout: session ended')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'logout: the session’s access token revoked')
})

t.test('the confirmation form needs its anti-forgery token and a same-origin post', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  const { jar } = await signIn(ctx, rp, user, { scope: 'openid' })
  const page = await getPage(ctx, jar, '/logout')
  const csrf = hiddenField(page.body, '_csrf')

  const missing = await postForm(ctx, jar, '/logout/confirm', { decision: 'logout', _csrf: '' })
  t.equal(missing.statusCode, 403, 'no token → 403')
  const forged = await postForm(ctx, jar, '/logout/confirm', { decision: 'logout', _csrf: `${csrf.slice(0, -2)}xx` })
  t.equal(forged.statusCode, 403, 'wrong token → 403')
  const crossSite = await postForm(ctx, jar, '/logout/confirm', { decision: 'logout', _csrf: csrf }, 'https://evil.example')
  t.equal(crossSite.statusCode, 403, 'cross-site Origin → 403')
  t.equal(await isSignedIn(ctx, rp, jar), true, 'still signed in after the refused posts')
})

t.test('an id_token_hint for another user asks for confirmation; an expired hint still works', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const alice = await ctx.addUser()
  const bob = await ctx.addUser()
  const { tokens: bobTokens } = await signIn(ctx, rp, bob, { scope: 'openid' })
  const { tokens, jar } = await signIn(ctx, rp, alice, { scope: 'openid' })

  const wrongUser = await getPage(
    ctx,
    jar,
    `/logout?${new URLSearchParams({ id_token_hint: bobTokens.id_token!, post_logout_redirect_uri: BYE })}`,
  )
  t.equal(wrongUser.statusCode, 200, 'confirmation page, no redirect')
  t.match(wrongUser.body, /action="\/logout\/confirm"/)
  t.equal(await isSignedIn(ctx, rp, jar), true, 'Alice is still signed in')

  ctx.clock.advance(3600 + 60) // past the ID token's exp, within the session's idle and absolute limits
  t.equal(await isSignedIn(ctx, rp, jar), true)
  const expired = await ctx.app.inject({
    method: 'GET',
    url: `/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE, state: 'late' })}`,
    headers: { cookie: jar.header() },
  })
  jar.store(expired)
  t.equal(expired.statusCode, 303, 'an expired but genuine hint still identifies the session')
  t.equal(expired.headers.location, `${BYE}?state=late`)
  t.equal(await isSignedIn(ctx, rp, jar), false)
})

t.test('client_id that contradicts the id_token_hint is refused', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const other = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, rp, user, { scope: 'openid' })
  const response = await getPage(
    ctx,
    jar,
    `/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, client_id: other.client.id, post_logout_redirect_uri: BYE })}`,
  )
  t.equal(response.statusCode, 400)
  t.notOk(response.headers.location, 'no redirect')
  t.equal(await isSignedIn(ctx, rp, jar), true, 'nothing changed')
})

t.test('logout also revokes grants obtained before a re-authentication in the same browser', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ postLogoutRedirectUris: [BYE] })
  const user = await ctx.addUser()
  const { tokens: before, jar } = await signIn(ctx, rp, user, { scope: 'openid' })
  ctx.clock.advance(120)
  // prompt=login rotates the session id (no fixation); it is still the same browser session.
  const { tokens: after } = await signIn(ctx, rp, user, { scope: 'openid', jar, params: { prompt: 'login' } })
  const logout = await ctx.app.inject({
    method: 'GET',
    url: `/logout?${new URLSearchParams({ id_token_hint: after.id_token!, post_logout_redirect_uri: BYE })}`,
    headers: { cookie: jar.header() },
  })
  jar.store(logout)
  t.equal(logout.statusCode, 303)
  t.equal((await userinfo(ctx, after.access_token)).statusCode, 401, 'the access token from after the re-authentication is revoked')
  t.equal((await userinfo(ctx, before.access_token)).statusCode, 401, 'the access token from before the re-authentication is revoked too')
  t.equal((await introspect(ctx, rp, before.access_token)).active, false, 'and inactive at introspection')
})
