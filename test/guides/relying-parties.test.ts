/**
 * The relying-party guides in docs/guides, run for real: each guide's example program
 * (test/guides/fixtures, shown verbatim in its guide) runs in its own process on loopback against
 * one real Tessera, a browser-like client signs a user in through Tessera's login page, and the
 * app must end up with that user's `sub` and email from the ID token. The pitfalls the guides
 * describe (express-openid-connect's defaults, passport-openidconnect without PKCE) are run too.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { createTestApp, type TestApp, type TestUser } from '../helpers/test-app.js'
import { Browser, guideShowsFixture, json, reservePort, startExample, type Navigation, type Page } from './helpers/kit.js'

const secret = () => randomBytes(32).toString('base64url')

/** The signed-in user the example app reports at /me: Tessera's sub and email, from the ID token. */
async function expectSignedIn(t: Test, browser: Browser, appUrl: string, user: TestUser, navigation: Navigation): Promise<void> {
  t.ok(navigation.loggedIn, 'Tessera showed its login form and the user signed in')
  t.equal(
    navigation.authorizationResponse?.searchParams.get('error'),
    null,
    `Tessera answered without an error (${navigation.authorizationResponse?.href})`,
  )
  t.ok(navigation.authorizationResponse?.searchParams.get('code'), 'Tessera sent a code back to the app')
  t.equal(navigation.page.url.href, `${appUrl}/me`, 'the app took the user to /me after the callback')
  t.equal(navigation.page.status, 200, `the app answered /me: ${navigation.page.body.slice(0, 300)}`)
  const me = json(navigation.page)
  t.equal(me['sub'], user.id, 'the app knows the user by Tessera’s sub')
  t.equal(me['email'], user.email, 'and has the email from the ID token')
  t.equal(me['name'], user.name, 'and the name')
  // Cookies alone, a second time: the app's session holds the user.
  const again = await browser.fetch(new URL(`${appUrl}/me`))
  t.equal(again.status, 200, 'the app’s session keeps the user signed in')
  t.equal(json(again)['sub'], user.id)
}

/** What every guide's authorization request must look like at Tessera. */
function expectCodeFlowRequest(t: Test, navigation: Navigation, redirectUri: string, options: { pkce: boolean; nonce: boolean }): void {
  const request = navigation.authorizationRequest
  if (!request) {
    t.fail(`the app never sent the browser to Tessera’s /authorize (visited ${navigation.visited.map(String).join(' → ')})`)
    return
  }
  const params = request.searchParams
  t.equal(params.get('response_type'), 'code', 'response_type=code')
  t.ok(params.get('response_mode') === null || params.get('response_mode') === 'query', 'no response_mode other than query')
  t.equal(params.get('redirect_uri'), redirectUri, 'the registered redirect URI')
  t.ok(params.get('state'), 'a state')
  t.match(params.get('scope') ?? '', /\bopenid\b/, 'scope includes openid')
  t.match(params.get('scope') ?? '', /\bemail\b/, 'scope includes email')
  if (options.pkce) {
    t.equal(params.get('code_challenge_method'), 'S256', 'PKCE with S256')
    t.match(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'a code_challenge')
  } else {
    t.equal(params.get('code_challenge'), null, 'no code_challenge (this library sends no PKCE)')
  }
  if (options.nonce) t.ok(params.get('nonce'), 'a nonce')
}

/** The hidden inputs and action of the first form on a page whose action matches. */
function form(page: Page, action: RegExp): { action: URL; fields: Record<string, string> } {
  const match = [...page.body.matchAll(/<form\b[^>]*\baction="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((candidate) =>
    action.test(candidate[1]!),
  )
  if (!match) throw new Error(`no form with an action like ${action} on ${page.url.href}:\n${page.body.slice(0, 1000)}`)
  const fields: Record<string, string> = {}
  for (const input of match[2]!.matchAll(/<input\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(input[0])?.[1]
    const value = /\bvalue="([^"]*)"/.exec(input[0])?.[1]
    if (name !== undefined && value !== undefined)
      fields[name] = value
        .replace(/&amp;/g, '&')
        .replace(/&quot;/g, '"')
        .replace(/&#x27;|&#39;/g, "'")
  }
  return { action: new URL(match[1]!.replace(/&amp;/g, '&'), page.url), fields }
}

/** Registers a confidential first-party client for an example app, as `npx idp clients add` would. */
async function register(
  ctx: TestApp,
  name: string,
  redirectUri: string,
  options: { pkce?: 'optional'; postLogoutRedirectUri?: string } = {},
) {
  const { client, secret: clientSecret } = await ctx.addClient({
    name,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: options.postLogoutRedirectUri ? [options.postLogoutRedirectUri] : [],
    ...(options.pkce ? { pkce: options.pkce } : {}),
  })
  return { CLIENT_ID: client.id, CLIENT_SECRET: clientSecret! }
}

t.test('relying-party guides against a real Tessera', async (t) => {
  // Every guide signs in through the same login form from 127.0.0.1.
  const ctx = await createTestApp({ listen: true, env: { LOGIN_RATE_LIMIT: '100000' } })
  t.teardown(() => ctx.close())
  // Tessera's test clock is frozen at its creation; keep it on real time so the libraries' own
  // clocks (iat, exp, auth_time checks) agree with it.
  const syncClock = () => ctx.clock.set(Math.floor(Date.now() / 1000))

  t.test('openid-client v6 with Express (docs/guides/openid-client-express.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('openid-client-express.md', 'openid-client-express.mjs'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'openid-client example', `${url}/callback`, { postLogoutRedirectUri: `${url}/` })
    const user = await ctx.addUser({ name: 'Ada Lovelace' })
    await startExample(t, 'openid-client-express.mjs', port, { ISSUER: ctx.issuer, ...registered, SESSION_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'nobody is signed in at first')
    const signIn = await browser.navigate(`${url}/login`)
    expectCodeFlowRequest(t, signIn, `${url}/callback`, { pkce: true, nonce: true })
    t.equal(signIn.authorizationResponse?.searchParams.get('iss'), ctx.issuer, 'Tessera’s RFC 9207 iss, which openid-client checks')
    await expectSignedIn(t, browser, url, user, signIn)
    const sso = await browser.navigate(`${url}/login`)
    t.notOk(sso.loggedIn, 'while Tessera’s session lives, signing in again needs no password (single sign-on)')
    t.equal(json(sso.page)['sub'], user.id)

    const signOut = await browser.navigate(`${url}/logout`)
    const endSession = signOut.visited.find((visited) => visited.origin === new URL(ctx.issuer).origin && visited.pathname === '/logout')
    t.ok(endSession, 'the app sent the browser to Tessera’s end-session endpoint')
    t.equal(signOut.page.url.href, `${url}/`, 'Tessera ended its session and came straight back to the registered post-logout URI')
    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'signed out of the app')
    const sameBrowser = await browser.navigate(`${url}/login`)
    t.ok(sameBrowser.loggedIn, 'signing in again shows Tessera’s login form: its session ended too (no single sign-on)')
    t.equal(json(sameBrowser.page)['sub'], user.id)
  })

  t.test('Auth.js with @auth/express (docs/guides/authjs-express.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('authjs-express.md', 'authjs-express.mjs'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'Auth.js example', `${url}/auth/callback/tessera`)
    const user = await ctx.addUser({ name: 'Grace Hopper' })
    await startExample(t, 'authjs-express.mjs', port, { ISSUER: ctx.issuer, ...registered, AUTH_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'nobody is signed in at first')
    // Auth.js's own sign-in page: one form per provider, posting its CSRF token.
    const signInPage = await browser.fetch(new URL(`${url}/auth/signin?callbackUrl=%2Fme`))
    t.equal(signInPage.status, 200, 'Auth.js serves its sign-in page')
    const button = form(signInPage, /\/auth\/signin\/tessera$/)
    t.ok(button.fields['csrfToken'], 'with a CSRF token')
    const signIn = await browser.navigate(button.action, { form: button.fields })
    expectCodeFlowRequest(t, signIn, `${url}/auth/callback/tessera`, { pkce: true, nonce: true })
    await expectSignedIn(t, browser, url, user, signIn)
  })

  t.test('express-openid-connect (docs/guides/express-openid-connect.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('express-openid-connect.md', 'express-openid-connect.mjs'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'express-openid-connect example', `${url}/callback`, { postLogoutRedirectUri: url })
    const user = await ctx.addUser({ name: 'Katherine Johnson' })
    await startExample(t, 'express-openid-connect.mjs', port, { ISSUER: ctx.issuer, ...registered, SESSION_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    // requiresAuth(): an anonymous visit to /me starts the login and comes back to /me.
    const signIn = await browser.navigate(`${url}/me`)
    expectCodeFlowRequest(t, signIn, `${url}/callback`, { pkce: true, nonce: true })
    await expectSignedIn(t, browser, url, user, signIn)

    const signOut = await browser.navigate(`${url}/logout`)
    t.ok(
      signOut.visited.some((visited) => visited.origin === new URL(ctx.issuer).origin && visited.pathname === '/logout'),
      'idpLogout: /logout goes through Tessera’s end-session endpoint',
    )
    t.equal(signOut.page.url.href, `${url}/`, `and back to the app (${signOut.visited.map(String).join(' → ')})`)
    t.ok((await browser.navigate(`${url}/me`)).loggedIn, 'Tessera asks for the password again')
  })

  t.test('express-openid-connect with its defaults fails, as the guide says', async (t) => {
    syncClock()
    t.ok(
      guideShowsFixture('express-openid-connect.md', 'pitfalls/express-openid-connect-defaults.mjs'),
      'the guide shows the failing configuration',
    )
    const { port, url } = await reservePort()
    const { CLIENT_ID } = await register(ctx, 'express-openid-connect defaults', `${url}/callback`)
    await startExample(t, 'pitfalls/express-openid-connect-defaults.mjs', port, { ISSUER: ctx.issuer, CLIENT_ID, SESSION_SECRET: secret() })
    const user = await ctx.addUser()
    const attempt = await new Browser(ctx.issuer, user).navigate(`${url}/me`)
    const params = attempt.authorizationRequest?.searchParams
    t.equal(params?.get('response_type'), 'id_token', 'the library’s default asks for response_type=id_token')
    t.equal(params?.get('response_mode'), 'form_post', 'with response_mode=form_post')
    t.notOk(attempt.loggedIn, 'Tessera refuses before showing its login form')
    t.equal(
      attempt.authorizationResponse?.searchParams.get('error'),
      'unsupported_response_type',
      'and redirects back with error=unsupported_response_type',
    )
    t.not(attempt.page.status, 200, `the app shows an error (${attempt.page.status})`)
  })

  t.test('passport-openidconnect with a --pkce optional client (docs/guides/passport-openidconnect.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('passport-openidconnect.md', 'passport-openidconnect.mjs'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'Passport example', `${url}/callback`, { pkce: 'optional' })
    const user = await ctx.addUser({ name: 'Hedy Lamarr' })
    await startExample(t, 'passport-openidconnect.mjs', port, { ISSUER: ctx.issuer, ...registered, SESSION_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'nobody is signed in at first')
    const signIn = await browser.navigate(`${url}/login`)
    expectCodeFlowRequest(t, signIn, `${url}/callback`, { pkce: false, nonce: true })
    await expectSignedIn(t, browser, url, user, signIn)
  })

  t.test('passport-openidconnect with a default client (PKCE required) is refused, as the guide says', async (t) => {
    syncClock()
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'Passport, PKCE required', `${url}/callback`)
    const user = await ctx.addUser()
    await startExample(t, 'passport-openidconnect.mjs', port, { ISSUER: ctx.issuer, ...registered, SESSION_SECRET: secret() })
    const attempt = await new Browser(ctx.issuer, user).navigate(`${url}/login`)
    t.notOk(attempt.loggedIn, 'Tessera refuses before showing its login form')
    t.equal(attempt.authorizationResponse?.searchParams.get('error'), 'invalid_request', 'error=invalid_request')
    t.match(
      attempt.authorizationResponse?.searchParams.get('error_description') ?? '',
      /code_challenge is required/,
      'because the code_challenge is missing',
    )
    t.equal((await new Browser(ctx.issuer).fetch(new URL(`${url}/me`))).status, 401, 'nobody got signed in')
  })

  t.test('@fastify/oauth2 (docs/guides/fastify-oauth2.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('fastify-oauth2.md', 'fastify-oauth2.mjs'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'Fastify example', `${url}/callback`)
    const user = await ctx.addUser({ name: 'Barbara Liskov' })
    await startExample(t, 'fastify-oauth2.mjs', port, { ISSUER: ctx.issuer, ...registered, COOKIE_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'nobody is signed in at first')
    const signIn = await browser.navigate(`${url}/login`)
    expectCodeFlowRequest(t, signIn, `${url}/callback`, { pkce: true, nonce: false })
    await expectSignedIn(t, browser, url, user, signIn)
  })

  t.test('Authlib with Flask, on Debian’s Python (docs/guides/authlib-flask.md)', async (t) => {
    syncClock()
    t.ok(guideShowsFixture('authlib-flask.md', 'authlib_flask.py'), 'the guide shows the example program verbatim')
    const { port, url } = await reservePort()
    const registered = await register(ctx, 'Authlib example', `${url}/callback`)
    const user = await ctx.addUser({ name: 'Margaret Hamilton' })
    await startExample(t, 'authlib_flask.py', port, { ISSUER: ctx.issuer, ...registered, SESSION_SECRET: secret() })
    const browser = new Browser(ctx.issuer, user)

    t.equal((await browser.fetch(new URL(`${url}/me`))).status, 401, 'nobody is signed in at first')
    const signIn = await browser.navigate(`${url}/login`)
    expectCodeFlowRequest(t, signIn, `${url}/callback`, { pkce: true, nonce: true })
    await expectSignedIn(t, browser, url, user, signIn)
  })
})
