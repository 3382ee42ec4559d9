/**
 * Passkeys in a real browser: headless Chromium with a CDP virtual authenticator (resident keys,
 * user verification) signs in with a password at an openid-client relying party, adds a passkey
 * on Tessera's account page with the "Add a passkey" button, signs out, and signs in again with
 * the "Sign in with a passkey" button alone; the relying party's ID token says amr hwk+user and
 * acr phr. The issuer is http://localhost:PORT: WebAuthn does not accept an IP address as RP ID.
 */
import t from 'tap'
import { launchChromium } from '../helpers/chromium.js'
import { createTestApp } from '../helpers/test-app.js'
import { freePort } from '../helpers/free-port.js'
import { startFixture } from '../helpers/processes.js'

const STEP_TIMEOUT_MS = 15_000

t.test('browser: add a passkey on the account page, then sign in with it alone', async (t) => {
  const ctx = await createTestApp({ listen: true, issuerHost: 'localhost' })
  t.teardown(() => ctx.close())
  const rpPort = await freePort()
  const rpOrigin = `http://127.0.0.1:${rpPort}`
  const { client, secret } = await ctx.addClient({ name: 'Demo RP', redirectUris: [`${rpOrigin}/callback`] })
  const user = await ctx.addUser({ name: 'Grace Hopper' })
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
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))

  // A platform authenticator that keeps discoverable credentials and verifies the user.
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })

  // 1. Password sign-in through the relying party.
  await page.goto(`${rpOrigin}/login`)
  await page.waitForURL(`${ctx.issuer}/login?**`)
  t.equal(
    await page.getByLabel('Email').getAttribute('autocomplete'),
    'username webauthn',
    'the email field offers passkeys (conditional mediation)',
  )
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await Promise.all([page.waitForURL(`${rpOrigin}/callback?**`), page.getByRole('button', { name: 'Sign in', exact: true }).click()])
  t.equal(await page.locator('#acr').textContent(), 'urn:tessera:pwd', 'a password alone')

  // 2. Add a passkey on the account page.
  await page.goto(`${ctx.issuer}/account`)
  await page.getByLabel('Name for the new passkey').fill('Virtual authenticator')
  const addButton = page.getByRole('button', { name: /passkey/i }).filter({ hasText: 'Add a passkey' })
  t.equal(await addButton.count(), 1, 'an "Add a passkey" button')
  await Promise.all([page.waitForURL(`${ctx.issuer}/account/passkeys`), addButton.click()])
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Save your recovery codes', 'recovery codes after the first factor')
  t.equal(await page.locator('ul.recovery-codes li').count(), 10)
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
  t.equal(credentials.length, 1, 'the authenticator holds one credential')
  t.equal(credentials[0]?.isResidentCredential, true, 'a discoverable credential (passkey)')
  t.equal(credentials[0]?.rpId, 'localhost', 'for the issuer’s host')
  await page.goto(`${ctx.issuer}/account`)
  t.match(await page.locator('ul.passkeys').textContent(), /Virtual authenticator/, 'listed by its name')

  const signOut = async () => {
    await page.goto(`${ctx.issuer}/account`)
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.waitForLoadState('load')
    return (await context.cookies(ctx.issuer)).some((cookie) => cookie.name === 'tessera_session')
  }
  const assertSignedInByPasskey = async (how: string) => {
    await page.locator('#who').waitFor()
    t.equal(await page.locator('#who').textContent(), `Signed in as ${user.email}`, `${how}: no password was typed`)
    t.equal(await page.locator('#sub').textContent(), user.id)
    t.equal(await page.locator('#acr').textContent(), 'phr', `${how}: acr phishing-resistant`)
    t.same(
      JSON.parse((await page.locator('#amr').textContent()) ?? '[]'),
      ['hwk', 'user'],
      `${how}: amr a device-bound key and user verification`,
    )
  }

  // 3. Signed out, the login page's email field offers the passkey (conditional mediation); the
  //    virtual authenticator, present and verifying, accepts at once, as a person picking it would.
  t.equal(await signOut(), false, 'signed out')
  await Promise.all([page.waitForURL(`${rpOrigin}/callback?**`), page.goto(`${rpOrigin}/login`)])
  await assertSignedInByPasskey('autofill')

  // 4. The button, in a browser without autofill for passkeys (no conditional mediation).
  t.equal(await signOut(), false, 'signed out again')
  await page.addInitScript(() => {
    const credential = (globalThis as unknown as { PublicKeyCredential?: { isConditionalMediationAvailable?: () => Promise<boolean> } })
      .PublicKeyCredential
    if (credential) credential.isConditionalMediationAvailable = async () => false
  })
  await page.goto(`${rpOrigin}/login`)
  await page.waitForURL(`${ctx.issuer}/login?**`)
  const passkeyButton = page.getByRole('button', { name: /passkey/i })
  t.equal(await passkeyButton.textContent(), 'Sign in with a passkey', 'a "Sign in with a passkey" button')
  await Promise.all([page.waitForURL(`${rpOrigin}/callback?**`), passkeyButton.click()])
  await assertSignedInByPasskey('button')
  t.same(problems, [], 'no console errors or CSP violations')
})
