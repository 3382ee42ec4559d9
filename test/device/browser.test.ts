/**
 * The device flow as people do it: openid-client is the device (a TV showing a code) and polls;
 * headless Chromium (the system's Debian chromium through playwright-core) opens the verification
 * page, signs in, comes back, types the code, checks the client and its scopes and presses Allow;
 * the device gets its tokens. The server's clock follows the wall clock: the device really waits.
 */
import t from 'tap'
import * as client from 'openid-client'
import { launchChromium } from '../helpers/chromium.js'
import { createTestApp } from '../helpers/test-app.js'
import { addDeviceClient, WallClock } from './support.js'

const STEP_TIMEOUT_MS = 20_000

t.test('browser: sign in at /device, type the code, Allow; the polling device gets tokens', async (t) => {
  const ctx = await createTestApp({ listen: true, clock: new WallClock() })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx, { name: 'Living-room TV' })
  const user = await ctx.addUser({ name: 'Grace Hopper' })
  const config = await client.discovery(new URL(ctx.issuer), rp.client.id, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: 10,
  })
  const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile email' })
  const polling = client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: AbortSignal.timeout(180_000) })
  // Settled below; a failure of the browser steps must not leave it unhandled meanwhile.
  void polling.catch(() => undefined)

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const page = await (await browser.newContext({ viewport: { width: 800, height: 700 } })).newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))

  // The TV shows verification_uri and the code; the person opens the address on their phone.
  await page.goto(device.verification_uri)
  await page.waitForURL(`${ctx.issuer}/login`)
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await Promise.all([page.waitForURL(`${ctx.issuer}/device`), page.getByRole('button', { name: 'Sign in', exact: true }).click()])
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Connect a device', 'back at the verification page')

  // Typed as people do: lower case, a space instead of the dash.
  await page.getByLabel('Code').fill(device.user_code.toLowerCase().replace('-', ' '))
  await Promise.all([page.waitForURL(`${ctx.issuer}/device`), page.getByRole('button', { name: 'Continue' }).click()])
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Connect Living-room TV?')
  t.equal(await page.locator('code.user-code').textContent(), device.user_code, 'the code to compare with the TV')
  const scopes = await page.locator('ul.plain li').allTextContents()
  t.ok(
    scopes.some((text) => /email address/.test(text)),
    `the scopes in plain words (${scopes.join('; ')})`,
  )
  await Promise.all([page.waitForURL(`${ctx.issuer}/device/decision`), page.getByRole('button', { name: 'Allow' }).click()])
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Device connected')

  const tokens = await polling
  t.match(tokens.claims(), { iss: ctx.issuer, aud: rp.client.id, sub: user.id }, 'the device is signed in as the user')
  t.equal(tokens.scope, 'openid profile email')
  const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
  t.equal(info['email'], user.email)
  t.same(problems, [], 'no console errors or CSP violations')
})
