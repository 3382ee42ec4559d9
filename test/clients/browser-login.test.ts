/**
 * The login a person sees: headless Chromium (playwright-core, the system's Debian chromium) starts
 * at a small relying party, follows "Log in" to Tessera's real login page, signs in and lands back
 * at the relying party signed in; a second login is single sign-on without the form.
 */
import t from 'tap'
import type { Frame, Response as PageResponse } from 'playwright-core'
import { launchChromium } from '../helpers/chromium.js'
import { createTestApp } from '../helpers/test-app.js'
import { freePort } from '../helpers/free-port.js'
import { startFixture, withTimeout } from '../helpers/processes.js'

const SCREENSHOT = '/tmp/tessera-login.png'
const STEP_TIMEOUT_MS = 15_000

t.test('browser: relying party → Tessera login page → back signed in; then SSO', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  const rpPort = await freePort()
  const rpOrigin = `http://127.0.0.1:${rpPort}`
  const { client, secret } = await ctx.addClient({ name: 'Demo RP', redirectUris: [`${rpOrigin}/callback`] })
  const user = await ctx.addUser({ name: 'Grace Hopper' })
  const rp = await startFixture(t, 'relying-party.mjs', {
    ISSUER: ctx.issuer,
    CLIENT_ID: client.id,
    CLIENT_SECRET: secret!,
    PORT: String(rpPort),
  })
  t.equal(rp.url, rpOrigin)

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' })
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)

  const responses: PageResponse[] = []
  const consoleMessages: string[] = []
  page.on('response', (response) => responses.push(response))
  page.on('console', (message) => {
    // Chromium asks every origin for /favicon.ico; neither Tessera nor the demo RP has one.
    if (message.location().url.endsWith('/favicon.ico')) return
    consoleMessages.push(`${message.type()}: ${message.text()} (${message.location().url})`)
  })
  page.on('pageerror', (error) => consoleMessages.push(`pageerror: ${error.message}`))
  const tesseraLoginPageShown = (from: number) => responses.slice(from).some((r) => r.url().startsWith(`${ctx.issuer}/login`))

  await page.goto(`${rpOrigin}/`)
  await Promise.all([page.waitForURL(`${ctx.issuer}/login?**`), page.getByRole('link', { name: 'Log in' }).click()])

  t.test('the login page', async (t) => {
    t.equal(await page.title(), 'Sign in · Tessera')
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in')
    t.match(await page.locator('.lead').textContent(), /to continue to\s+Demo RP/)
    t.ok(await page.getByLabel('Email').isVisible(), 'an email field with a label')
    t.ok(await page.getByLabel('Password').isVisible(), 'a password field with a label')
    t.equal(await page.getByLabel('Password').getAttribute('type'), 'password')
    t.equal(await page.getByLabel('Email').getAttribute('autocomplete'), 'username webauthn', 'passkeys offered in autofill')
    t.equal(await page.getByLabel('Password').getAttribute('autocomplete'), 'current-password')
    const loginResponse = responses.find((r) => r.url().startsWith(`${ctx.issuer}/login`))!
    const headers = await loginResponse.allHeaders()
    t.match(headers['content-security-policy'], /default-src 'self'/)
    t.equal(headers['x-frame-options'], 'DENY')
    t.equal(headers['cache-control'], 'no-store')
    const stylesheet = responses.find((r) => r.url() === `${ctx.issuer}/assets/style.css`)
    t.equal(stylesheet?.status(), 200, 'the stylesheet loaded')
    // The card is styled (the stylesheet applied under the CSP), not raw HTML.
    // (Runs in the page; the DOM's getComputedStyle is reached through globalThis because this
    // project's tsconfig has no DOM lib.)
    const radius = await page
      .locator('main.card')
      .evaluate(
        (el) => (globalThis as unknown as { getComputedStyle(e: typeof el): { borderRadius: string } }).getComputedStyle(el).borderRadius,
      )
    t.equal(radius, '12px')
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    t.same(consoleMessages, [], 'no console errors or CSP violations')
  })

  interface Submitted {
    readonly status: number | undefined
    readonly origin: string | undefined
    readonly secFetchSite: string | undefined
    /** Set when the browser refused to follow the form submission (a CSP violation). */
    readonly blocked: string | null
    readonly said: string
  }

  /**
   * Clicks "Sign in" and waits (bounded) until the browser either navigates (the form again, an
   * error page, or the relying party's callback) or reports that it blocked the submission.
   */
  async function submitLogin(): Promise<Submitted> {
    const isMain = (frame: Frame) => frame === page.mainFrame()
    const navigated = page.waitForEvent('framenavigated', { predicate: isMain, timeout: STEP_TIMEOUT_MS }).then(() => null)
    const blocked = page
      .waitForEvent('console', { predicate: (m) => /Content Security Policy/.test(m.text()), timeout: STEP_TIMEOUT_MS })
      .then((m) => m.text())
    const posted = page.waitForRequest((r) => r.url() === `${ctx.issuer}/login` && r.method() === 'POST')
    // Only one of these settles the race below; the others reject later (their timeout, or the
    // page closing at teardown), and an unhandled rejection would fail whatever test runs then.
    for (const waiting of [navigated, blocked, posted]) void waiting.catch(() => undefined)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    const request = await posted
    const outcome = await Promise.race([navigated, blocked])
    await page.waitForLoadState('load')
    const response = await withTimeout(request.response(), 5_000, 'the POST /login response').catch(() => null)
    const headers = await request.allHeaders()
    const said = (await page.locator('h1, .lead, [role=alert], #who').allTextContents()).join(' | ')
    return { status: response?.status(), origin: headers['origin'], secFetchSite: headers['sec-fetch-site'], blocked: outcome, said }
  }

  const describe = (r: Submitted) =>
    `POST /login from the browser (Origin: ${r.origin}, Sec-Fetch-Site: ${r.secFetchSite}) → ${r.status}${r.blocked ? `; browser: ${r.blocked}` : ''}; page says: ${r.said}`

  t.test('a wrong password shows an error and keeps the email', async (t) => {
    await page.getByLabel('Email').fill(user.email)
    await page.getByLabel('Password').fill('not the password')
    const result = await submitLogin()
    // A same-origin form post from a real browser must get past the anti-forgery checks. Chromium
    // sends `Origin: null` here because the page's Referrer-Policy is no-referrer (Fetch standard,
    // "serializing a request origin"); Sec-Fetch-Site says same-origin.
    if (!t.equal(result.status, 401, describe(result))) return
    t.equal((await page.getByRole('alert').textContent())?.trim(), 'Incorrect email or password.')
    t.equal(await page.getByLabel('Email').inputValue(), user.email)
    t.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not echoed back')
  })

  t.test('the right password lands back at the relying party, signed in', async (t) => {
    if (!page.url().startsWith(`${ctx.issuer}/login`) || !(await page.getByLabel('Password').isVisible())) {
      // The previous step did not come back to the form: start over from the relying party.
      await Promise.all([page.waitForURL(`${ctx.issuer}/login?**`), page.goto(`${rpOrigin}/login`)])
    }
    await page.getByLabel('Email').fill(user.email)
    await page.getByLabel('Password').fill(user.password)
    const result = await submitLogin()
    if (!t.equal(result.status, 303, describe(result))) return
    // The 303 goes to the relying party's origin: the page's CSP must let the form submission follow it.
    t.equal(result.blocked, null, `the browser followed the redirect to the relying party (${result.blocked ?? 'not blocked'})`)
    if (!t.ok(page.url().startsWith(`${rpOrigin}/callback?`), `back at the relying party (now at ${page.url()})`)) return
    await page.locator('#who').waitFor()
    t.equal(await page.locator('#who').textContent(), `Signed in as ${user.email}`)
    t.equal(await page.locator('#sub').textContent(), user.id)
    const callback = new URL(page.url())
    t.equal(callback.searchParams.get('iss'), ctx.issuer)
    const cookies = await context.cookies(ctx.issuer)
    const session = cookies.find((cookie) => cookie.name === 'tessera_session')
    t.ok(session, 'a session cookie was set')
    t.equal(session?.httpOnly, true)
    t.equal(session?.sameSite, 'Lax')
  })

  t.test('a second visit to /login is single sign-on: no login form', async (t) => {
    const from = responses.length
    await page.goto(`${rpOrigin}/login`)
    if (!t.ok(page.url().startsWith(`${rpOrigin}/callback?`), `back at the relying party at once (now at ${page.url()})`)) return
    await page.locator('#who').waitFor()
    t.equal(await page.locator('#who').textContent(), `Signed in as ${user.email}`)
    t.notOk(tesseraLoginPageShown(from), 'Tessera did not show its login page')
    t.ok(
      responses.slice(from).some((r) => r.url().startsWith(`${ctx.issuer}/authorize?`)),
      'the browser did pass through /authorize',
    )
  })

  t.test('a fresh browser (no cookies) gets the login form again', async (t) => {
    const other = await browser.newContext()
    t.teardown(() => other.close())
    const fresh = await other.newPage()
    fresh.setDefaultTimeout(STEP_TIMEOUT_MS)
    await Promise.all([fresh.waitForURL(`${ctx.issuer}/login?**`), fresh.goto(`${rpOrigin}/login`)])
    t.ok(await fresh.getByLabel('Password').isVisible())
  })
})
