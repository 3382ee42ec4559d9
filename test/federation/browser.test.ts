/**
 * A person in headless Chromium: at a relying party, "Log in" leads to Tessera's login page,
 * "Continue with Company SSO" to the upstream OpenID provider (oidc-provider), whose sign-in leads
 * back through Tessera to the relying party, signed in as a just-in-time account. The page's CSP
 * lets the form submission follow the redirect to the upstream; nothing is blocked or logged.
 */
import t from 'tap'
import { callbackUrl } from '../../src/connections/registry.js'
import { launchChromium } from '../helpers/chromium.js'
import { freePort } from '../helpers/free-port.js'
import { startFixture } from '../helpers/processes.js'
import { createTestApp } from '../helpers/test-app.js'
import { startOpenIdProvider } from './upstreams.js'
import { addCompanySso } from './support.js'

const STEP_TIMEOUT_MS = 15_000

t.test('browser: relying party → Tessera → Company SSO → back at the relying party, signed in', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  const upstream = await startOpenIdProvider([callbackUrl(ctx.issuer, 'company-sso')])
  t.teardown(() => upstream.close())
  const added = await addCompanySso(ctx, upstream, ['--trust-email'])
  t.equal(added.code, 0, added.stderr.join('\n'))
  upstream.nextUser = { sub: 'grace', email: 'grace@navy.test', email_verified: true, name: 'Grace Hopper' }

  const rpPort = await freePort()
  const rpOrigin = `http://127.0.0.1:${rpPort}`
  const { client, secret } = await ctx.addClient({ name: 'Demo RP', redirectUris: [`${rpOrigin}/callback`] })
  await startFixture(t, 'relying-party.mjs', { ISSUER: ctx.issuer, CLIENT_ID: client.id, CLIENT_SECRET: secret!, PORT: String(rpPort) })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))

  await page.goto(`${rpOrigin}/`)
  await Promise.all([page.waitForURL(`${ctx.issuer}/login?**`), page.getByRole('link', { name: 'Log in' }).click()])
  const button = page.getByRole('button', { name: 'Continue with Company SSO' })
  t.ok(await button.isVisible(), 'the login page offers the connection')
  await Promise.all([page.waitForURL(`${upstream.issuer}/interaction/**`), button.click()])
  await Promise.all([page.waitForURL(`${rpOrigin}/callback?**`), page.getByRole('button', { name: 'Sign in at the upstream' }).click()])
  await page.locator('#who').waitFor()
  t.equal(await page.locator('#who').textContent(), 'Signed in as grace@navy.test')
  const user = await ctx.deps.repos.users.findByEmail('grace@navy.test')
  t.equal(await page.locator('#sub').textContent(), user?.id, 'the local account, made just in time')
  t.same(problems, [], 'no console errors or CSP violations')

  // The account page lists the linked identity.
  await page.goto(`${ctx.issuer}/account`)
  t.ok(await page.getByRole('heading', { name: 'Linked sign-in methods' }).isVisible())
  t.ok(await page.getByRole('button', { name: 'Unlink Company SSO' }).isVisible())
})
