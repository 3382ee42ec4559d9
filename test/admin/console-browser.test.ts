/**
 * The admin console in headless Chromium (the system's Debian chromium through playwright-core):
 * an admin with an authenticator app opens /admin, signs in with password and code and lands on
 * the console, gives a client a new secret and sees it once, ends another user's session, and
 * searches the audit log; the pages run without a console error or a CSP violation.
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { Browser as InProcessBrowser } from '../helpers/client.js'
import { launchChromium } from '../helpers/chromium.js'
import { totpCode } from '../mfa/support.js'
import { addAdmin, consoleApp, location } from './console-support.js'

const STEP_TIMEOUT_MS = 15_000

/** Clicks and waits for the navigation it starts (a link or a form post), whatever URL it ends at. */
async function clickAndLoad(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()])
}

t.test('browser: sign in with a second factor, rotate a secret, end a session, search the audit log', async (t) => {
  const ctx = await consoleApp(t, { listen: true })
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  const service = await ctx.addClient({
    name: 'Billing service',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scopes: ['api:read'],
  })
  const user = await ctx.addUser({ email: 'grace@example.com' })
  // Grace is signed in elsewhere (another browser of hers).
  const graceBrowser = new InProcessBrowser(ctx, { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' })
  t.equal(location(await graceBrowser.login(user.email, user.password)), '/account')

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
  const problems: string[] = []
  page.on('console', (message) => {
    // Chromium asks every origin for /favicon.ico; Tessera has none.
    if (message.location().url.endsWith('/favicon.ico')) return
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))

  await t.test('/admin asks to sign in, then for the code, then shows the console', async (t) => {
    await page.goto(`${ctx.issuer}/admin`)
    t.equal(new URL(page.url()).pathname, '/login')
    await page.getByLabel('Email').fill(admin.email)
    await page.getByLabel('Password').fill(admin.password)
    await clickAndLoad(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click())
    t.equal(new URL(page.url()).pathname, '/login/second-factor')
    ctx.clock.advance(30)
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(ctx, admin.totpSecret!))
    await clickAndLoad(page, () => page.getByRole('button', { name: 'Continue' }).click())
    t.equal(page.url(), `${ctx.issuer}/admin`, 'back at the console')
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Admin console')
    t.equal(
      await page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Overview' }).getAttribute('aria-current'),
      'page',
    )
    const width = await page
      .locator('main.card')
      .evaluate((el) => (globalThis as unknown as { getComputedStyle(e: typeof el): { maxWidth: string } }).getComputedStyle(el).maxWidth)
    t.equal(width, '1024px', 'the wide card: the stylesheet applied under the CSP')
  })

  await t.test('a client gets a new secret, shown once', async (t) => {
    await clickAndLoad(page, () => page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Clients' }).click())
    await clickAndLoad(page, () => page.getByRole('link', { name: 'Billing service' }).click())
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Billing service')
    await page.getByLabel('The old secret').selectOption({ label: 'Keep the old secret for 1 hour' })
    const answer = page.waitForResponse((response) => response.request().method() === 'POST')
    await clickAndLoad(page, () => page.getByRole('button', { name: 'Rotate the secret' }).click())
    t.equal((await answer).headers()['cache-control'], 'no-store', 'the page with the secret is never stored')
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'New client secret')
    const secret = (await page.locator('#client-secret').textContent())?.trim() ?? ''
    t.match(secret, /^[A-Za-z0-9_-]{43}$/, 'the secret is on the page')
    t.match(await page.getByRole('alert').textContent(), /shown only on this page/)
    const token = await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${service.client.id}:${secret}`).toString('base64')}`,
      },
      payload: 'grant_type=client_credentials',
    })
    t.equal(token.statusCode, 200, 'the secret shown works at the token endpoint')
    await clickAndLoad(page, () => page.getByRole('link', { name: 'Done' }).click())
    t.notOk((await page.content()).includes(secret), 'the client page does not show it again')
    t.match(await page.locator('main').textContent(), /Previous secret\s*still accepted until/)
  })

  await t.test("another user's session is ended", async (t) => {
    await page.goto(`${ctx.issuer}/admin/users`)
    await page.getByLabel('Email address contains').fill('grace')
    await clickAndLoad(page, () => page.getByRole('button', { name: 'Search' }).click())
    await clickAndLoad(page, () => page.getByRole('link', { name: 'grace@example.com' }).click())
    const sessions = page.locator('table.sessions tbody tr')
    t.equal(await sessions.count(), 1)
    t.match(await sessions.first().textContent(), /Firefox on Linux/)
    await clickAndLoad(page, () => sessions.first().getByRole('button', { name: 'End session' }).click())
    t.equal(await page.getByRole('status').textContent(), 'The session was ended.')
    t.match(await page.locator('main').textContent(), /Not signed in anywhere\./)
    t.equal(location(await graceBrowser.get('/account')), '/login', 'her browser is signed out')
  })

  await t.test('the audit log is searched', async (t) => {
    await clickAndLoad(page, () => page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Audit log' }).click())
    await page.getByLabel('Event type').fill('revocation')
    await page.getByLabel("User's email address").fill('grace@example.com')
    await page.getByLabel('When').selectOption({ label: 'Last hour' })
    await clickAndLoad(page, () => page.getByRole('button', { name: 'Search' }).click())
    const url = new URL(page.url())
    t.equal(url.pathname, '/admin/audit')
    t.equal(url.searchParams.get('type'), 'revocation')
    const rows = page.locator('table.events tbody tr')
    t.equal(await rows.count(), 1, 'the one revocation of her session')
    const row = (await rows.first().textContent()) ?? ''
    t.match(row, /revocation/)
    t.match(row, /grace@example\.com/)
    t.match(row, /root@example\.com/, 'by the admin')
    t.match(row, /reason: ended_by_admin/)
  })

  t.same(problems, [], 'no console errors or CSP violations')
})
