/**
 * WCAG 2.2 AA on every page, in headless Chromium (the system's Debian chromium through
 * playwright-core): one browser walks the real flows (sign-in with its errors, signup, email
 * verification, password reset, consent, the account page and its subpages, authenticator-app
 * setup, recovery codes, the second factor, second-factor enrolment, the device pages, sign-out,
 * error pages, the 404 page, sign-in through an upstream provider and the admin console) and, on each page, runs axe-core in the light
 * and the dark colour scheme at a phone (390×844) and a desktop (1280×800) width, asserting no
 * violation of the WCAG 2.0/2.1/2.2 A and AA rules. axe cannot judge non-text contrast (1.4.11):
 * the focus ring and the control borders are measured against the colours around them here.
 *
 * Screenshots of every page in every mode are kept under test-artifacts/accessibility/ (ignored by git).
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import t, { type Test } from 'tap'
import { launchChromium } from '../helpers/chromium.js'
import { fastHasher } from '../helpers/fast-hasher.js'
import { linkIn, mailedApp } from '../helpers/smtp.js'
import { pkcePair } from '../helpers/client.js'
import { totpCode } from '../mfa/support.js'
import { addAdmin } from '../admin/console-support.js'
import { addDeviceClient, startDevice } from '../device/support.js'
import { callbackUrl } from '../../src/connections/registry.js'
import { startOpenIdProvider } from '../federation/upstreams.js'
import { addCompanySso } from '../federation/support.js'

const require = createRequire(import.meta.url)
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const SCREENSHOTS = path.resolve('test-artifacts/accessibility')
/** A 1×1 PNG: an application's logo. */
const LOGO_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')
const STEP_TIMEOUT_MS = 20_000
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
const SCHEMES = ['light', 'dark'] as const
const WIDTHS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 800 },
] as const

// Per-IP throttles count real time and every request here comes from 127.0.0.1.
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  SIGNUP_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_RATE_LIMIT: '100000',
}

interface Violation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: readonly string[]
}

/** Relative luminance and contrast ratio (WCAG 2.2, "contrast ratio"), from a computed CSS colour. */
function rgb(color: string): [number, number, number] {
  const match = /rgba?\((\d+(?:\.\d+)?),?\s*(\d+(?:\.\d+)?),?\s*(\d+(?:\.\d+)?)/.exec(color)
  if (!match) throw new Error(`not an rgb() colour: ${color}`)
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}
function luminance(color: string): number {
  const [r, g, b] = rgb(color).map((c) => {
    const s = c / 255
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return Math.round(((light + 0.05) / (dark + 0.05)) * 100) / 100
}

t.test('axe-core: every page, both colour schemes, phone and desktop widths', async (t) => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  const { ctx, smtp } = await mailedApp(t, { listen: true, env: { ...NO_THROTTLE, SIGNUP: 'on' }, overrides: { hasher: fastHasher() } })
  // The applications' redirect URI: on Tessera's own loopback origin, so the browser lands on a
  // page there (a 404) instead of at a host name that does not resolve.
  const RP_CALLBACK = `${ctx.issuer}/rp/callback`
  const app = await ctx.addClient({ name: 'Notes', redirectUris: [RP_CALLBACK] })
  const thirdParty = await ctx.addClient({ name: 'Photo Printer', redirectUris: [RP_CALLBACK], firstParty: false })
  const strict = await ctx.addClient({ name: 'Payroll', redirectUris: [RP_CALLBACK] })
  await ctx.deps.repos.clients.setPolicies(strict.client.id, { requireMfa: true })
  const tv = await addDeviceClient(ctx)
  const grace = await ctx.addUser({ name: 'Grace Hopper', email: 'grace@example.com' })
  const newcomer = await ctx.addUser({ name: 'Alan Turing', email: 'alan@example.com' })
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  await ctx.addUser({ name: 'Ada Lovelace', email: 'ada@example.com' })
  const hedy = await ctx.addUser({ name: 'Hedy Lamarr', email: 'hedy@example.com' })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  // bypassCSP: axe is injected as an inline script (page.addScriptTag), which the pages' strict
  // CSP (no 'unsafe-inline') would block. Only this test's browser context bypasses it; the other
  // browser tests check that the pages work under the CSP.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 } })
  const page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)

  const authorizeUrl = (client: { id: string }, extra: Record<string, string> = {}) =>
    `${ctx.issuer}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: RP_CALLBACK,
      scope: 'openid profile email',
      state: 'state-1',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ...extra,
    })}`

  const audited: string[] = []
  const runAxe = async (): Promise<Violation[]> =>
    (await page.evaluate(`(async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} },
        // target-size (WCAG 2.5.8, wcag22aa) is off by default in axe-core 4: asked for by name.
        rules: { 'target-size': { enabled: true } },
        resultTypes: ['violations'],
      })
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' ')),
      }))
    })()`)) as Violation[]
  /** Runs axe on the page as it is now, in every colour scheme and width, and keeps screenshots. */
  async function audit(t: Test, name: string, expectHeading?: string | RegExp): Promise<void> {
    await page.waitForLoadState('load')
    if (expectHeading !== undefined)
      t.match(await page.getByRole('heading', { level: 1 }).textContent(), expectHeading, `${name}: the page`)
    if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ content: AXE_SOURCE })
    audited.push(name)
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme })
      for (const size of WIDTHS) {
        await page.setViewportSize({ width: size.width, height: size.height })
        const violations = await runAxe()
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${scheme}-${size.name}.png`), fullPage: true })
        t.same(violations, [], `${name} (${scheme}, ${size.name}): no axe violations`)
      }
    }
    await page.setViewportSize({ width: 390, height: 844 })
    await page.emulateMedia({ colorScheme: 'light' })
  }

  /** Clicks and waits for the navigation it starts (a link or a form post), wherever it ends. */
  async function clickAndLoad(click: () => Promise<void>): Promise<void> {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()])
  }
  const button = (name: string | RegExp) => page.getByRole('button', { name, exact: typeof name === 'string' })
  const signOut = async () => {
    await context.clearCookies()
  }
  async function signIn(email: string, password: string): Promise<void> {
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(password)
    await clickAndLoad(() => button('Sign in').click())
  }

  await t.test('the checker itself finds violations (a page made worse on purpose)', async (t) => {
    await page.goto(`${ctx.issuer}/forgot-password`)
    await page.addScriptTag({ content: AXE_SOURCE })
    await page.evaluate(`(() => {
      document.querySelector('label[for="email"]').remove()
      const faint = document.createElement('p')
      faint.textContent = 'faint text'
      faint.style.color = '#ccc'
      document.querySelector('main').append(faint)
      const tiny = document.createElement('button')
      tiny.textContent = 'x'
      tiny.style.cssText = 'display: block; width: 10px; height: 10px; padding: 0; margin: 0'
      const row = document.createElement('div')
      row.append(tiny, tiny.cloneNode(true))
      document.querySelector('main').append(row)
    })()`)
    const found = new Set((await runAxe()).map((violation) => violation.id))
    for (const rule of ['label', 'color-contrast', 'target-size']) t.ok(found.has(rule), `axe reports ${rule}`)
  })

  await t.test('sign-in, signup, verification and password reset', async (t) => {
    await page.goto(authorizeUrl(app.client))
    t.equal(new URL(page.url()).pathname, '/login')
    await audit(t, 'login', 'Sign in')
    await signIn(grace.email, 'not the password')
    t.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'login-error', 'the error is tied to the fields')
    await audit(t, 'login-error', 'Sign in')

    await clickAndLoad(() => page.getByRole('link', { name: 'Create an account' }).click())
    t.equal(await page.getByLabel('Email').getAttribute('autocomplete'), 'username', "signup's email is the account's username")
    await audit(t, 'signup', 'Create your account')
    await page.getByLabel('Name').fill('Katherine Johnson')
    await page.getByLabel('Email').fill('not an address')
    await page.getByLabel('Password', { exact: true }).fill('short')
    await clickAndLoad(() => button('Create account').click())
    t.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true')
    await audit(t, 'signup-errors', 'Create your account')
    await page.getByLabel('Email').fill('katherine@example.com')
    await page.getByLabel('Password', { exact: true }).fill('a long and unguessable passphrase')
    await clickAndLoad(() => button('Create account').click())
    await audit(t, 'signup-done', 'Check your email')
    const verification = await smtp.waitFor((mail) => mail.to === 'katherine@example.com')
    await page.goto(linkIn(verification, `${ctx.issuer}/verify-email?token=`))
    await audit(t, 'verify-email')

    await signOut()
    await page.goto(`${ctx.issuer}/forgot-password`)
    await audit(t, 'forgot-password', 'Forgot your password?')
    await page.getByLabel('Email').fill('ada@example.com')
    await clickAndLoad(() => button('Send reset link').click())
    await audit(t, 'forgot-password-sent')
    const reset = await smtp.waitFor((mail) => mail.to === 'ada@example.com')
    await page.goto(linkIn(reset, `${ctx.issuer}/reset-password?token=`))
    t.equal(
      await page.locator('input[autocomplete="username"]').getAttribute('value'),
      'ada@example.com',
      'password managers see whose password this is',
    )
    await audit(t, 'reset-password', 'Choose a new password')
    await page.getByLabel('New password', { exact: true }).fill('a long and unguessable passphrase')
    await page.getByLabel('Repeat the new password').fill('something else entirely, also long')
    await clickAndLoad(() => button('Set new password').click())
    t.equal(await page.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'), 'true')
    await audit(t, 'reset-password-error', 'Choose a new password')
  })

  let graceTotp = ''
  await t.test('consent, the account page and its subpages, authenticator app setup', async (t) => {
    await signOut()
    await page.goto(authorizeUrl(thirdParty.client))
    await signIn(grace.email, grace.password)
    t.equal(new URL(page.url()).pathname, '/consent')
    await audit(t, 'consent', /Allow Photo Printer/)

    await page.goto(`${ctx.issuer}/account`)
    await audit(t, 'account', 'Your account')
    await page.setViewportSize({ width: 1280, height: 800 })
    const columns = (await page.evaluate(
      `getComputedStyle(document.querySelector('.account-sections')).gridTemplateColumns.split(' ').length`,
    )) as number
    t.ok(columns >= 2, `at desktop width the account page uses the room: ${columns} columns`)
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${ctx.issuer}/account/delete`)
    await audit(t, 'account-delete', 'Delete your account')

    await page.goto(`${ctx.issuer}/account`)
    await page.getByLabel('Current password').fill('wrong password')
    await page.getByLabel('New password', { exact: true }).fill('x')
    await clickAndLoad(() => button('Change password').click())
    await audit(t, 'account-errors', 'Your account')

    await page.goto(`${ctx.issuer}/account`)
    await clickAndLoad(() => button('Set up an authenticator app').click())
    await audit(t, 'totp-setup', 'Set up an authenticator app')
    graceTotp = ((await page.locator('#totp-secret').textContent()) ?? '').trim()
    await page.getByLabel('Code from the app').fill('000000')
    await clickAndLoad(() => button('Turn on').click())
    await audit(t, 'totp-setup-error', 'Set up an authenticator app')
    await page.getByLabel('Code from the app').fill(await totpCode(ctx, graceTotp))
    await clickAndLoad(() => button('Turn on').click())
    await audit(t, 'recovery-codes', 'Save your recovery codes')
    await page.goto(`${ctx.issuer}/account`)
    await audit(t, 'account-with-factors', 'Your account')

    await clickAndLoad(() => button('Sign out').click())
    await audit(t, 'signed-out')
  })

  await t.test('the second factor, sign-out confirmation, the device pages', async (t) => {
    await page.goto(authorizeUrl(app.client))
    await signIn(grace.email, grace.password)
    t.equal(new URL(page.url()).pathname, '/login/second-factor')
    await audit(t, 'second-factor', 'Confirm it is you')
    await page.getByLabel('Code from your authenticator app').fill('000000')
    await clickAndLoad(() => button('Continue').click())
    await audit(t, 'second-factor-error', 'Confirm it is you')
    ctx.clock.advance(30)
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(ctx, graceTotp))
    await clickAndLoad(() => button('Continue').click())
    t.ok(page.url().startsWith(RP_CALLBACK), 'back at the application')

    await page.goto(`${ctx.issuer}/logout`)
    await audit(t, 'logout-confirm', 'Sign out?')
    await clickAndLoad(() => button('Stay signed in').click())

    const device = await startDevice(ctx, tv)
    await page.goto(`${ctx.issuer}/device`)
    await audit(t, 'device', 'Connect a device')
    await page.getByLabel('Code').fill('BBBB-BBBB')
    await clickAndLoad(() => button('Continue').click())
    await audit(t, 'device-error', 'Connect a device')
    await page.goto(`${ctx.issuer}/device?${new URLSearchParams({ user_code: device.user_code })}`)
    await audit(t, 'device-confirm')
    await clickAndLoad(() => button('Allow').click())
    await audit(t, 'device-done')
  })

  await t.test('second-factor enrolment', async (t) => {
    await signOut()
    await page.goto(authorizeUrl(strict.client))
    await signIn(newcomer.email, newcomer.password)
    t.equal(new URL(page.url()).pathname, '/account/second-factor')
    await audit(t, 'enrol', 'Set up a second factor')
  })

  await t.test('error pages and the 404 page', async (t) => {
    await signOut()
    await page.goto(`${ctx.issuer}/authorize?client_id=nobody&response_type=code&redirect_uri=${encodeURIComponent(RP_CALLBACK)}`)
    await audit(t, 'error-unknown-client')
    const wrongRedirect = await page.goto(authorizeUrl(app.client, { redirect_uri: 'https://elsewhere.example/callback' }))
    t.equal(wrongRedirect?.status(), 400)
    // What people see (innerText: a closed disclosure's contents are not rendered) is plain words;
    // the protocol reason waits, closed, for the application's developer.
    t.notMatch(await page.locator('main').innerText(), /redirect_uri/, 'written for people, not in protocol terms')
    t.match(await page.locator('main details').textContent(), /redirect_uri/, 'the reason kept for the developer, closed')
    t.ok(await page.locator('main a[href]').count(), 'a link onward')
    await audit(t, 'error-redirect-uri')
    await page.goto(`${ctx.issuer}/login?interaction=expired`)
    await audit(t, 'error-expired-login')
    const missing = await page.goto(`${ctx.issuer}/no/such/page`)
    t.equal(missing?.status(), 404)
    t.ok(await page.getByRole('link', { name: /account|home|sign in/i }).count(), 'a way home')
    await audit(t, 'not-found', 'Page not found')
  })

  await t.test('sign-in with an existing identity: the connection button, linking, a refusal, the linked account', async (t) => {
    await signOut()
    const upstream = await startOpenIdProvider([callbackUrl(ctx.issuer, 'company-sso')])
    t.teardown(() => upstream.close())
    const added = await addCompanySso(ctx, upstream)
    t.equal(added.code, 0, added.stderr.join('\n'))
    const continueWithSso = () => button('Continue with Company SSO').click()
    const atUpstream = () => button('Sign in at the upstream').click()

    await page.goto(authorizeUrl(app.client))
    await audit(t, 'login-connection', 'Sign in')
    // The upstream asserts the address of an existing account, not trusted to prove it: link first.
    upstream.nextUser = { sub: 'hedy-at-sso', email: hedy.email, email_verified: true, name: 'Hedy Lamarr' }
    await clickAndLoad(continueWithSso)
    await clickAndLoad(atUpstream)
    await audit(t, 'federation-link-required', 'Link Company SSO to your account')
    await clickAndLoad(() => page.getByRole('link', { name: 'Sign in to link' }).click())
    await audit(t, 'login-to-link', 'Sign in')
    t.equal(await page.locator('main .notice').textContent(), 'Sign in as hedy@example.com to link Company SSO to that account.')
    t.equal(await page.getByLabel('Email').inputValue(), hedy.email, 'the account to prove, filled in')
    await signIn(hedy.email, hedy.password)
    await page.goto(`${ctx.issuer}/account`)
    t.ok(await page.getByRole('button', { name: 'Unlink Company SSO' }).isVisible(), 'linked')
    await audit(t, 'account-linked-identity')

    await signOut()
    upstream.nextUser = { sub: 'no-address' }
    await page.goto(authorizeUrl(app.client))
    await clickAndLoad(continueWithSso)
    await clickAndLoad(atUpstream)
    t.match(await page.locator('main').innerText(), /did not share your email address/)
    await audit(t, 'federation-refused', 'Sign-in refused')
  })

  await t.test('other languages, and an application showing its logo and links', async (t) => {
    await signOut()
    // A logo the server fetches from the application's site (a loopback page here) and serves itself.
    const site = http.createServer((_request, response) => void response.writeHead(200, { 'content-type': 'image/png' }).end(LOGO_PNG))
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())))
    const shop = await ctx.addClient({ name: 'Bücherladen', redirectUris: [RP_CALLBACK], firstParty: false })
    const logoUri = `http://127.0.0.1:${(site.address() as AddressInfo).port}/logo.png`
    await ctx.deps.repos.clients.saveSettings({
      ...shop.client,
      metadata: {
        logo_uri: logoUri,
        client_uri: 'https://shop.example/',
        policy_uri: 'https://shop.example/privacy',
        tos_uri: 'https://shop.example/terms',
      },
    })
    await ctx.deps.clientLogos.refresh((await ctx.deps.repos.clients.find(shop.client.id))!)
    await page.goto(authorizeUrl(shop.client, { ui_locales: 'de' }))
    t.equal(await page.locator('html').getAttribute('lang'), 'de')
    t.ok(
      await page
        .locator('img.client-logo')
        .evaluate(
          (img) =>
            (img as unknown as { complete: boolean; naturalWidth: number }).complete &&
            (img as unknown as { naturalWidth: number }).naturalWidth > 0,
        ),
      'the application’s logo loads from our origin under the CSP-free test context',
    )
    await audit(t, 'login-de-client', 'Anmelden')
    // A user without a second factor (Grace has one by now): straight to the consent page.
    const greta = await ctx.addUser({ name: 'Greta Garbo', email: 'greta@example.com' })
    await page.getByLabel('E-Mail').fill(greta.email)
    await page.getByLabel('Passwort').fill(greta.password)
    await clickAndLoad(() => page.locator('form[action="/login"] button[type="submit"]').click())
    t.equal(new URL(page.url()).pathname, '/consent')
    await audit(t, 'consent-de-client', /Bücherladen/)
    await signOut()
    await page.setExtraHTTPHeaders({ 'accept-language': 'fr-FR,fr;q=0.9' })
    await page.goto(`${ctx.issuer}/forgot-password`)
    t.equal(await page.locator('html').getAttribute('lang'), 'fr')
    await audit(t, 'forgot-password-fr')
    await page.goto(`${ctx.issuer}/signup`)
    await audit(t, 'signup-fr')
    await page.setExtraHTTPHeaders({ 'accept-language': 'es' })
    await page.goto(`${ctx.issuer}/no/such/page`)
    t.equal(await page.locator('html').getAttribute('lang'), 'es')
    await audit(t, 'not-found-es')
    await page.setExtraHTTPHeaders({})
  })

  await t.test('the admin console', async (t) => {
    await signOut()
    await page.goto(`${ctx.issuer}/admin`)
    await signIn(admin.email, admin.password)
    ctx.clock.advance(30)
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(ctx, admin.totpSecret!))
    await clickAndLoad(() => button('Continue').click())
    await audit(t, 'admin-home', 'Admin console')
    await page.goto(`${ctx.issuer}/admin/clients`)
    await audit(t, 'admin-clients', 'Clients')
    await page.goto(`${ctx.issuer}/admin/clients/${encodeURIComponent(app.client.id)}`)
    await audit(t, 'admin-client', 'Notes')
    await clickAndLoad(() => button('Rotate the secret').click())
    await audit(t, 'admin-secret', 'New client secret')
    await page.goto(`${ctx.issuer}/admin/clients/${encodeURIComponent(app.client.id)}/delete`)
    await audit(t, 'admin-confirm')
    await page.goto(`${ctx.issuer}/admin/users`)
    await audit(t, 'admin-users', 'Users')
    await page.goto(`${ctx.issuer}/admin/users/${encodeURIComponent(grace.id)}`)
    await audit(t, 'admin-user', grace.email)
    await page.getByLabel('Roles of this user').fill('not a valid role!')
    await clickAndLoad(() => button('Save roles').click())
    await audit(t, 'admin-user-error')
    await page.goto(`${ctx.issuer}/admin/keys`)
    await audit(t, 'admin-keys', 'Signing keys')
    await clickAndLoad(() => button('Rotate the keys').click())
    await audit(t, 'admin-keys-rotated')
    await page.goto(`${ctx.issuer}/admin/audit?type=login_failure`)
    await audit(t, 'admin-audit', 'Audit log')
    await page.goto(`${ctx.issuer}/admin/no-such-page`)
    await audit(t, 'admin-not-found')
  })

  await t.test('non-text contrast (WCAG 1.4.11): focus ring and control borders, both schemes', async (t) => {
    await signOut()
    await page.goto(`${ctx.issuer}/login`)
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme })
      const styles = (await page.evaluate(`(() => {
        const style = (selector) => getComputedStyle(document.querySelector(selector))
        const email = document.querySelector('#email')
        const borders = { input: style('#email').borderTopColor, secondary: style('button.secondary').borderTopColor }
        const background = { card: style('main.card').backgroundColor, page: style('body').backgroundColor }
        const link = style('p.links a').color
        const text = { body: style('main.card').color, muted: style('p.lead').color }
        const passkeyButton = document.querySelector('button.secondary')
        passkeyButton.focus()
        const buttonRing = { color: getComputedStyle(passkeyButton).outlineColor, width: getComputedStyle(passkeyButton).outlineWidth, style: getComputedStyle(passkeyButton).outlineStyle }
        email.focus()
        const ring = { color: getComputedStyle(email).outlineColor, width: getComputedStyle(email).outlineWidth, style: getComputedStyle(email).outlineStyle }
        return { borders, background, link, text, ring, buttonRing }
      })()`)) as {
        borders: { input: string; secondary: string }
        background: { card: string; page: string }
        link: string
        text: { body: string; muted: string }
        ring: { color: string; width: string; style: string }
        buttonRing: { color: string; width: string; style: string }
      }
      const measured = {
        focusRing: contrast(styles.ring.color, styles.background.card),
        buttonFocusRing: contrast(styles.buttonRing.color, styles.background.card),
        inputBorder: contrast(styles.borders.input, styles.background.card),
        buttonBorder: contrast(styles.borders.secondary, styles.background.card),
        text: contrast(styles.text.body, styles.background.card),
        mutedText: contrast(styles.text.muted, styles.background.card),
        link: contrast(styles.link, styles.background.card),
      }
      t.comment(`${scheme}: ${JSON.stringify(measured)}`)
      t.not(styles.ring.style, 'none', `${scheme}: a focus outline is drawn`)
      t.ok(parseFloat(styles.ring.width) >= 2, `${scheme}: the focus outline is at least 2px (${styles.ring.width})`)
      t.ok(measured.focusRing >= 3, `${scheme}: focus ring ${measured.focusRing}:1 against the card`)
      t.ok(measured.buttonFocusRing >= 3, `${scheme}: button focus ring ${measured.buttonFocusRing}:1 against the card`)
      t.ok(measured.inputBorder >= 3, `${scheme}: input border ${measured.inputBorder}:1 against the card`)
      t.ok(measured.buttonBorder >= 3, `${scheme}: secondary button border ${measured.buttonBorder}:1 against the card`)
      t.ok(measured.text >= 4.5, `${scheme}: text ${measured.text}:1`)
      t.ok(measured.mutedText >= 4.5, `${scheme}: muted text ${measured.mutedText}:1`)
      t.ok(measured.link >= 4.5, `${scheme}: links ${measured.link}:1`)
    }
  })

  t.comment(`audited ${audited.length} pages × ${SCHEMES.length} colour schemes × ${WIDTHS.length} widths`)
})
