/**
 * The verification page (RFC 8628 §3.3, §5): sign in first and come back; the code typed in any
 * case and spacing; the client and its scopes in plain words; Allow and Deny behind the
 * anti-forgery token; wrong codes throttled without locking out the owner; expired and used codes
 * said so; consent remembered for third-party clients; audit events.
 */
import t from 'tap'
import { Browser, hiddenField } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'
import { buildClient } from '../../src/clients/registration.js'
import { addDeviceClient, answer, DEVICE_CODE_GRANT, errorOf, poll, signedInBrowser, startDevice } from './support.js'

const WRONG = 'BBBB-BBBB'

t.test('not signed in: the sign-in page, then back to the code, then Allow', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx, { name: 'Kitchen Radio' })
  const user = await ctx.addUser()
  const device = await startDevice(ctx, rp, 'openid email')
  const browser = new Browser(ctx)

  const start = await browser.get(`/device?user_code=${device.user_code}`)
  t.equal(start.statusCode, 303)
  t.equal(start.headers.location, '/login')
  const login = await browser.login(user.email, user.password)
  t.equal(login.statusCode, 303)
  t.equal(login.headers.location, `/device?user_code=${device.user_code}`, 'back to the verification page with the code')

  const page = await browser.get(login.headers.location!)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Connect Kitchen Radio\?/)
  t.match(page.body, new RegExp(`<code class="user-code">${device.user_code}</code>`), 'the code to compare with the device')
  t.match(page.body, /See your email address/, 'scopes in plain words')
  t.match(page.body, />Allow</)
  t.match(page.body, />Deny</)
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  t.equal(page.headers['x-frame-options'], 'DENY')
  t.equal(page.headers['cache-control'], 'no-store')

  const decided = await browser.post('/device/decision', {
    _csrf: hiddenField(page.body, '_csrf'),
    user_code: hiddenField(page.body, 'user_code'),
    decision: 'approve',
  })
  t.equal(decided.statusCode, 200)
  t.match(decided.body, /Kitchen Radio is now connected/)
  t.equal((await poll(ctx, rp, device.device_code)).statusCode, 200)
  const again = await browser.login(user.email, user.password)
  t.equal(again.headers.location, '/account', 'the way back is used once')
})

t.test('typed codes: any case, spaces or dashes; the entry form', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)

  const form = await browser.get('/device')
  t.equal(form.statusCode, 200)
  t.match(form.body, /<input id="user_code" name="user_code"/)
  t.match(form.body, /<label for="user_code">Code<\/label>/)
  const typed = ` ${device.user_code.toLowerCase().replace('-', ' ')} `
  const confirm = await browser.submit('/device', '/device', { user_code: typed })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /Connect Living-room TV\?/)
  t.equal(hiddenField(confirm.body, 'user_code'), device.user_code, 'shown as XXXX-XXXX')

  const malformed = await browser.submit('/device', '/device', { user_code: 'hello' })
  t.equal(malformed.statusCode, 400)
  t.match(malformed.body, /8 letters/)
  const wrong = await browser.submit('/device', '/device', { user_code: WRONG })
  t.equal(wrong.statusCode, 404)
  t.match(wrong.body, /That code is not valid/)
  t.match(wrong.body, new RegExp(`value="${WRONG}"`), 'what was typed stays in the field')
})

t.test('Allow and Deny need the anti-forgery token and a same-origin post', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  const page = await browser.get(`/device?user_code=${device.user_code}`)
  const csrf = hiddenField(page.body, '_csrf')

  const missing = await browser.post('/device/decision', { user_code: device.user_code, decision: 'approve' })
  t.equal(missing.statusCode, 403)
  const forged = await browser.post('/device/decision', {
    _csrf: `${csrf.slice(0, -2)}xx`,
    user_code: device.user_code,
    decision: 'approve',
  })
  t.equal(forged.statusCode, 403)
  const crossSite = await browser.post(
    '/device/decision',
    { _csrf: csrf, user_code: device.user_code, decision: 'approve' },
    'https://evil.example',
  )
  t.equal(crossSite.statusCode, 403)
  const enterCrossSite = await browser.post('/device', { _csrf: csrf, user_code: device.user_code }, 'https://evil.example')
  t.equal(enterCrossSite.statusCode, 403)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'authorization_pending', 'nothing changed')
})

t.test('a link another site opened shows the code to submit; it is not looked up or counted', async (t) => {
  const ctx = await createTestApp({ env: { LOGIN_FAILURE_LIMIT: '2' } })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  const open = (code: string) =>
    ctx.app.inject({
      method: 'GET',
      url: `/device?user_code=${code}`,
      headers: { accept: 'text/html', cookie: browser.jar.header(), 'sec-fetch-site': 'cross-site' },
    })
  for (let i = 0; i < 5; i++) t.equal((await open(WRONG)).statusCode, 200, 'a prefilled form, no error')
  const prefilled = await open(device.user_code)
  t.match(prefilled.body, /<form method="post" action="\/device"/)
  t.match(prefilled.body, new RegExp(`value="${device.user_code}"`))
  t.notMatch(prefilled.body, /Allow/, 'no confirmation without the user submitting the code')
  const confirm = await browser.submit('/device', '/device', { user_code: device.user_code })
  t.equal(confirm.statusCode, 200, 'the user is not blocked by what another site made the browser open')
})

t.test('wrong codes are throttled per user and browser; the owner’s other browser and other users are not blocked', async (t) => {
  const ctx = await createTestApp({ env: { LOGIN_FAILURE_LIMIT: '3' } })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const { user, browser: guesser } = await signedInBrowser(ctx, { ip: '203.0.113.7' })
  const device = await startDevice(ctx, rp)

  for (let i = 0; i < 3; i++) t.equal((await guesser.submit('/device', '/device', { user_code: WRONG })).statusCode, 404)
  const blocked = await guesser.submit('/device', '/device', { user_code: WRONG })
  t.equal(blocked.statusCode, 429, 'blocked after LOGIN_FAILURE_LIMIT wrong codes')
  t.ok(Number(blocked.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await guesser.submit('/device', '/device', { user_code: device.user_code })).statusCode, 429, 'even for a right code')
  for (let i = 0; i < 5; i++)
    t.equal((await guesser.submit('/device', '/device', { user_code: 'x' })).statusCode, 400, 'typos are not counted')

  const owner = new Browser(ctx, { ip: '203.0.113.7' })
  await owner.login(user.email, user.password)
  t.equal((await owner.submit('/device', '/device', { user_code: device.user_code })).statusCode, 200, 'the same user’s other browser')
  const { browser: neighbour } = await signedInBrowser(ctx, { ip: '203.0.113.7' })
  t.equal((await neighbour.submit('/device', '/device', { user_code: device.user_code })).statusCode, 200, 'another user at the address')

  ctx.clock.advance(61)
  t.equal((await guesser.submit('/device', '/device', { user_code: device.user_code })).statusCode, 200, 'the block lifts')

  const events = await ctx.deps.repos.auditEvents.list({ limit: 50 })
  t.ok(
    events.some((event) => event.type === 'user_code_failure'),
    'wrong codes are security events',
  )
  t.ok(events.some((event) => event.type === 'throttled'))
})

t.test('browsers without a device cookie also count per address', async (t) => {
  const ctx = await createTestApp({ env: { LOGIN_FAILURE_LIMIT: '100', IP_FAILURE_LIMIT: '3' } })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const device = await startDevice(ctx, rp)
  const untrusted = async () => {
    const { browser } = await signedInBrowser(ctx, { ip: '198.51.100.9' })
    browser.jar.cookies.delete('tessera_device')
    return browser
  }
  const first = await untrusted()
  for (let i = 0; i < 3; i++) t.equal((await first.submit('/device', '/device', { user_code: WRONG })).statusCode, 404)
  const second = await untrusted()
  t.equal(
    (await second.submit('/device', '/device', { user_code: WRONG })).statusCode,
    429,
    'the address is blocked for untrusted browsers',
  )
  const { browser: trusted } = await signedInBrowser(ctx, { ip: '198.51.100.9' })
  t.equal(
    (await trusted.submit('/device', '/device', { user_code: device.user_code })).statusCode,
    200,
    'a browser with its device cookie is not',
  )
})

t.test('expired and used codes say so', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const used = await startDevice(ctx, rp)
  const twoTabs = await startDevice(ctx, rp)
  const expired = await startDevice(ctx, rp)
  await answer(browser, used.user_code, 'approve')

  const usedPage = await browser.get(`/device?user_code=${used.user_code}`)
  t.equal(usedPage.statusCode, 400)
  t.match(usedPage.body, /That code was already used/)

  const tab1 = await browser.get(`/device?user_code=${twoTabs.user_code}`)
  const tab2 = await browser.get(`/device?user_code=${twoTabs.user_code}`)
  const fields = (page: typeof tab1, decision: string) => ({
    _csrf: hiddenField(page.body, '_csrf'),
    user_code: hiddenField(page.body, 'user_code'),
    decision,
  })
  t.equal((await browser.post('/device/decision', fields(tab1, 'deny'))).statusCode, 200)
  const late = await browser.post('/device/decision', fields(tab2, 'approve'))
  t.equal(late.statusCode, 400, 'the second answer is refused')
  t.match(late.body, /already used/)
  t.equal(errorOf(await poll(ctx, rp, twoTabs.device_code)), 'access_denied', 'the first answer stands')

  ctx.clock.advance(600)
  const expiredPage = await browser.get(`/device?user_code=${expired.user_code}`)
  t.equal(expiredPage.statusCode, 400)
  t.match(expiredPage.body, /That code has expired/)
})

t.test('third-party clients: the approval is a consent the account page lists; audit events', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx, { name: 'Streaming Stick', firstParty: false })
  const { user, browser } = await signedInBrowser(ctx)
  const approved = await startDevice(ctx, rp, 'openid profile')
  await answer(browser, approved.user_code, 'approve')
  const consent = await ctx.deps.repos.consents.find(user.id, rp.client.id)
  t.equal(consent?.scope, 'openid profile', 'the consent is remembered')
  const account = await browser.get('/account')
  t.match(account.body, /Streaming Stick/, 'the account page lists the application')

  const denied = await startDevice(ctx, rp, 'openid')
  await answer(browser, denied.user_code, 'deny')
  const events = await ctx.deps.repos.auditEvents.list({ userId: user.id, limit: 50 })
  t.match(
    events.find((event) => event.type === 'device_approved'),
    { clientId: rp.client.id, detail: { scope: 'openid profile' } },
  )
  t.match(
    events.find((event) => event.type === 'device_denied'),
    { clientId: rp.client.id, detail: { scope: 'openid' } },
  )
  t.equal(events.filter((event) => event.type === 'device_approved').length, 1)
  t.equal(events.filter((event) => event.type === 'device_denied').length, 1)
})

t.test('a client that requires a second factor: a user without one is told to set it up', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const { client } = buildClient(
    {
      name: 'Bank Terminal',
      redirectUris: [],
      postLogoutRedirectUris: [],
      isPublic: true,
      grantTypes: [DEVICE_CODE_GRANT],
      pkce: undefined,
      scopes: [],
      requireMfa: true,
    },
    ctx.clock.now(),
  )
  await ctx.deps.repos.clients.insert(client)
  const rp = { client, secret: null }
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  const page = await browser.get(`/device?user_code=${device.user_code}`)
  t.equal(page.statusCode, 403)
  t.match(page.body, /Bank Terminal asks for a second factor/)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'authorization_pending')
})
