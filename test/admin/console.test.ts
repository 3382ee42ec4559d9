/**
 * The admin console (/admin) through in-process browsers: who gets in (admins whose session used
 * a second factor; the others are sent to sign in, to set up a factor, to step up, or refused),
 * every change on every page with its audit event naming the admin, the anti-forgery checks, the
 * page headers, and escaping of what clients and users are called.
 */
import t, { type Test } from 'tap'
import type { AuditEvent } from '../../src/db/repositories/audit-events.js'
import type { TestApp } from '../helpers/test-app.js'
import { isReturnPath } from '../../src/http/return-to.js'
import { adminAccess } from '../../src/http/routes/admin-console/access.js'
import { Browser, hiddenField, post } from '../helpers/client.js'
import {
  addAdmin,
  addAuthenticatorApp,
  adminBrowser,
  consoleApp,
  location,
  nextCode,
  signInWithCode,
  submitOn,
  textOf,
} from './console-support.js'

const EVIL = 'https://evil.example'
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

t.test('the paths a sign-in may return to: the device page and console pages, nothing that leaves them', async (t) => {
  for (const path of [
    '/admin',
    '/admin/users',
    '/admin/users/Ab-_9',
    '/admin/users?email=ada%40example.com&after=x',
    '/admin/clients/https%3A%2F%2Fapp.example%2Fid.json',
    '/device',
    '/device?user_code=BCDF-GHJK',
  ])
    t.ok(isReturnPath(path), path)
  for (const path of [
    '//evil.example',
    '/admin//evil.example',
    '/admin/../account',
    '/admin/%2e%2e/account',
    '/admin/.%2e/account',
    '/admin/users/%2E%2E',
    '/admin\\evil.example',
    '/admin/\\evil.example',
    '/adminx',
    '/admin@evil.example',
    'https://evil.example/admin',
    '/admin?x=/\\evil',
    '/admin\n',
    '/account',
  ])
    t.notOk(isReturnPath(path), JSON.stringify(path))
})

t.test('the access rule', async (t) => {
  const none = { passkeys: 0, totp: false, recoveryCodes: 0 }
  const app = { passkeys: 0, totp: true, recoveryCodes: 10 }
  const passkey = { passkeys: 1, totp: false, recoveryCodes: 10 }
  const admin = { roles: ['admin'], disabledAt: null }
  t.equal(adminAccess(undefined, null, []), 'sign-in', 'no session')
  t.equal(adminAccess({ roles: ['admin'], disabledAt: 1 }, app, ['pwd', 'otp', 'mfa']), 'sign-in', 'a disabled account')
  t.equal(adminAccess({ roles: ['ops', 'Admin'], disabledAt: null }, app, ['pwd', 'otp', 'mfa']), 'forbidden', 'roles are exact')
  t.equal(adminAccess(admin, none, ['pwd']), 'set-up-factor')
  t.equal(adminAccess(admin, { ...none, recoveryCodes: 3 }, ['pwd']), 'set-up-factor', 'recovery codes alone are no factor')
  t.equal(adminAccess(admin, app, ['pwd']), 'step-up')
  t.equal(adminAccess(admin, app, ['pwd', 'otp', 'mfa']), 'allowed')
  t.equal(adminAccess(admin, passkey, ['hwk', 'user']), 'allowed', 'a passkey with user verification (phr)')
  t.equal(adminAccess(admin, passkey, []), 'step-up', 'a federated sign-in that reported no method')
})

t.test('who gets in', async (t) => {
  const ctx = await consoleApp(t)

  t.test('no session: sign in, then back to the page asked for', async (t) => {
    const admin = await addAdmin(ctx)
    const browser = new Browser(ctx)
    const first = await browser.get('/admin/users?email=example')
    t.equal(first.statusCode, 303)
    t.equal(location(first), '/login')
    const done = await signInWithCode(ctx, browser, admin)
    t.equal(location(done), '/admin/users?email=example', 'after both factors: the console page asked for')
    t.equal((await browser.get(location(done))).statusCode, 200)
  })

  t.test('a path that could leave the console is not remembered: back to /admin', async (t) => {
    const admin = await addAdmin(ctx)
    for (const path of ['/admin/users/..%2F..%2Faccount', '/admin/clients/%5Cevil.example', '/admin/users/%2e%2e%2f%2faccount']) {
      const browser = new Browser(ctx)
      t.equal(location(await browser.get(path)), '/login', `${path}: sign in first`)
      t.equal(location(await signInWithCode(ctx, browser, admin)), '/admin', `${path}: then the console's first page`)
    }
  })

  t.test('a post without a session changes nothing and leads to sign-in', async (t) => {
    const target = await ctx.addUser()
    const response = await new Browser(ctx).post(`/admin/users/${target.id}/disable`, {})
    t.equal(response.statusCode, 303)
    t.equal(location(response), '/login')
    t.equal((await ctx.deps.repos.users.findById(target.id))?.disabledAt, null)
  })

  t.test('not an admin: a 403 page, for pages and posts alike', async (t) => {
    const user = await addAdmin(ctx, { roles: ['ops'] })
    const browser = await adminBrowser(ctx, user)
    const page = await browser.get('/admin')
    t.equal(page.statusCode, 403)
    t.match(page.headers['content-type'], /text\/html/)
    t.match(page.body, 'Not allowed')
    const target = await ctx.addUser()
    const csrf = hiddenField((await browser.get('/account')).body, '_csrf')
    const posted = await browser.post(`/admin/users/${target.id}/disable`, { _csrf: csrf })
    t.equal(posted.statusCode, 403)
    t.equal((await ctx.deps.repos.users.findById(target.id))?.disabledAt, null, 'nothing changed')
    t.equal((await browser.get('/admin/users/no-such-user')).statusCode, 403, 'not even whether a user exists')
  })

  t.test('an admin without a second factor is sent to set one up', async (t) => {
    const admin = await addAdmin(ctx, { totp: false })
    const browser = new Browser(ctx)
    t.equal(location(await browser.get('/admin')), '/login')
    t.equal(location(await browser.login(admin.email, admin.password)), '/admin', 'signed in with the password alone: back to /admin')
    const page = await browser.get('/admin')
    t.equal(page.statusCode, 303)
    t.equal(location(page), '/account/second-factor')
    t.equal((await browser.get('/account/second-factor')).statusCode, 200)
  })

  t.test('a session without a second factor steps up, then comes back', async (t) => {
    const admin = await addAdmin(ctx, { totp: false })
    const browser = new Browser(ctx)
    await browser.login(admin.email, admin.password)
    // The factor set up after this session began does not upgrade it (acr urn:tessera:pwd).
    const secret = await addAuthenticatorApp(ctx, admin.id)
    const withApp = { ...admin, totpSecret: secret }
    const target = await ctx.addUser()

    const csrf = hiddenField((await browser.get('/account')).body, '_csrf')
    const posted = await browser.post(`/admin/users/${target.id}/disable`, { _csrf: csrf })
    t.equal(location(posted), '/admin', 'a post from the weaker session only leads to the console')
    t.equal((await ctx.deps.repos.users.findById(target.id))?.disabledAt, null, 'and changes nothing')

    const asked = await browser.get(`/admin/users/${target.id}`)
    t.equal(location(asked), '/login/second-factor', 'a step-up')
    const page = await browser.get('/login/second-factor')
    t.equal(page.statusCode, 200)
    const stepped = await browser.post('/login/second-factor', {
      _csrf: hiddenField(page.body, '_csrf'),
      code: await nextCode(ctx, withApp),
    })
    t.equal(location(stepped), `/admin/users/${target.id}`, 'back at the page asked for')
    t.equal((await browser.get(location(stepped))).statusCode, 200)
    const [event] = await ctx.deps.repos.auditEvents.list({ type: 'step_up', userId: admin.id, limit: 1 })
    t.ok(event, 'the step-up is a security event')
  })

  t.test('a disabled admin is signed out', async (t) => {
    const admin = await addAdmin(ctx)
    const browser = await adminBrowser(ctx, admin)
    t.equal((await browser.get('/admin')).statusCode, 200)
    await ctx.deps.repos.users.disable(admin.id, ctx.clock.now())
    t.equal(location(await browser.get('/admin')), '/login')
  })
})

t.test('pages: headers, CSP, no caching, escaping', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  const browser = await adminBrowser(ctx, admin)
  const hostile = '<script>alert(1)</script>'
  const { client } = await ctx.addClient({ name: hostile })
  await ctx.addUser({ name: `"><img src=x onerror=alert(1)>`, email: 'odd@example.com' })
  await ctx.deps.audit.record('client_updated', { clientId: client.id, detail: { note: hostile } })

  for (const path of [
    '/admin',
    '/admin/clients',
    `/admin/clients/${client.id}`,
    '/admin/users',
    '/admin/keys',
    '/admin/audit',
    `/admin/clients/${client.id}/delete`,
  ]) {
    const page = await browser.get(path)
    t.equal(page.statusCode, 200, path)
    t.match(page.headers['content-security-policy'], /default-src 'self'/, `${path}: CSP`)
    t.match(page.headers['content-security-policy'], /script-src 'self'/)
    t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/)
    t.equal(page.headers['x-frame-options'], 'DENY')
    t.equal(page.headers['referrer-policy'], 'no-referrer')
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    t.equal(page.headers['cache-control'], 'no-store', `${path}: never cached`)
    t.notMatch(page.body, /<script(?! src="\/assets\/)/, `${path}: no inline script`)
    t.notMatch(page.body, /<script>alert|<img src=x/, `${path}: nothing hostile unescaped`)
    t.match(page.body, 'aria-label="Admin console"', `${path}: the console menu`)
  }
  t.match((await browser.get('/admin/clients')).body, '&lt;script&gt;alert(1)&lt;/script&gt;', 'the client name, escaped')
  t.match((await browser.get('/admin/users?email=odd')).body, '&quot;&gt;&lt;img src=x', 'the user name, escaped')
  t.match((await browser.get('/admin/audit')).body, 'note: &lt;script&gt;', 'event details, escaped')
  const missing = await browser.get('/admin/clients/no-such-client')
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /text\/html/, 'errors are pages')
})

t.test('anti-forgery: no token or another site refused, nothing changes', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const target = await ctx.addUser()
  const { client } = await ctx.addClient({ name: 'Kept' })
  const noToken = await browser.post(`/admin/users/${target.id}/disable`, {})
  t.equal(noToken.statusCode, 403)
  const csrf = hiddenField((await browser.get(`/admin/users/${target.id}`)).body, '_csrf')
  const otherSite = await browser.post(`/admin/users/${target.id}/disable`, { _csrf: csrf }, EVIL)
  t.equal(otherSite.statusCode, 403)
  const wrongToken = await browser.post(`/admin/clients/${client.id}/delete`, { _csrf: 'forged', confirm: 'yes' })
  t.equal(wrongToken.statusCode, 403)
  const otherBrowser = await adminBrowser(ctx, await addAdmin(ctx))
  const foreignToken = await otherBrowser.post(`/admin/clients/${client.id}/delete`, { _csrf: csrf, confirm: 'yes' })
  t.equal(foreignToken.statusCode, 403, "another session's token")
  t.equal((await ctx.deps.repos.users.findById(target.id))?.disabledAt, null)
  t.ok(await ctx.deps.repos.clients.find(client.id), 'the client is still there')
})

/**
 * The audit event of a type (and matching `which`) that names the admin as its actor. Events of
 * one fake-clock second have no order among them: found by what they say, not by position.
 */
async function auditedBy(
  t: Test,
  ctx: TestApp,
  type: string,
  adminId: string,
  which: (event: AuditEvent) => boolean = () => true,
): Promise<AuditEvent | undefined> {
  const events = await ctx.deps.repos.auditEvents.list({ type, limit: 100 })
  const event = events.find((candidate) => candidate.detail['actor'] === `user:${adminId}` && which(candidate))
  t.ok(event, `a ${type} event naming the admin as its actor`)
  return event
}

t.test('clients: list, detail, new secret shown once, delete after confirmation', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const service = await ctx.addClient({
    name: 'Billing service',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scopes: ['api:read'],
  })
  const web = await ctx.addClient({ name: 'Web app', redirectUris: ['https://app.example/callback'] })
  const spa = await ctx.addClient({ name: 'Single page', isPublic: true, redirectUris: ['https://spa.example/cb'] })

  const list = textOf((await browser.get('/admin/clients')).body)
  for (const name of ['Billing service', 'Web app', 'Single page']) t.match(list, name)
  t.match(list, 'Public (no secret)')

  const detail = await browser.get(`/admin/clients/${web.client.id}`)
  const text = textOf(detail.body)
  t.match(text, 'https://app.example/callback', 'redirect URIs')
  t.match(text, 'authorization_code, refresh_token', 'grant types')
  t.match(text, 'PKCE required', 'policies')
  t.match(text, 'Rotate the secret')
  t.notMatch(textOf((await browser.get(`/admin/clients/${spa.client.id}`)).body), 'Rotate the secret', 'a public client has no secret')
  const spaPage = await browser.get(`/admin/clients/${spa.client.id}`)
  const noSecret = await browser.post(`/admin/clients/${spa.client.id}/secret`, {
    _csrf: hiddenField(spaPage.body, '_csrf'),
    overlap: '3600',
  })
  t.equal(noSecret.statusCode, 409, 'asked anyway: refused with the reason')
  t.match(textOf(noSecret.body), 'Single page is a public client and has no secret.')

  const rotated = await submitOn(browser, `/admin/clients/${service.client.id}`, `/admin/clients/${service.client.id}/secret`, {
    overlap: '3600',
  })
  t.equal(rotated.statusCode, 200)
  t.equal(rotated.headers['cache-control'], 'no-store')
  const secret = /<code class="secret" id="client-secret">([A-Za-z0-9_-]{43})<\/code>/.exec(rotated.body)?.[1]
  if (!t.ok(secret, 'the new secret is on the page')) return
  t.match(textOf(rotated.body), 'The previous secret keeps working until')
  const token = (secretValue: string) =>
    post(ctx, '/token', { client: service.client, secret: secretValue }, { grant_type: 'client_credentials' })
  t.equal((await token(secret!)).statusCode, 200, 'the new secret works')
  t.equal((await token(service.secret!)).statusCode, 200, 'the old one too, during the overlap')
  t.notMatch((await browser.get(`/admin/clients/${service.client.id}`)).body, secret!, 'never shown again')
  t.match(textOf((await browser.get(`/admin/clients/${service.client.id}`)).body), 'Previous secret still accepted until')
  await auditedBy(t, ctx, 'client_secret_rotated', admin.id)

  const refused = await submitOn(browser, `/admin/clients/${web.client.id}`, `/admin/clients/${web.client.id}/secret`, { overlap: '12345' })
  t.equal(refused.statusCode, 400, 'only the offered overlaps')

  const confirm = await browser.get(`/admin/clients/${web.client.id}/delete`)
  t.equal(confirm.statusCode, 200)
  t.match(textOf(confirm.body), 'Delete Web app?')
  const unconfirmed = await browser.post(`/admin/clients/${web.client.id}/delete`, { _csrf: hiddenField(confirm.body, '_csrf') })
  t.equal(unconfirmed.statusCode, 400, 'a post without the confirmation field is refused')
  t.ok(await ctx.deps.repos.clients.find(web.client.id))
  const deleted = await submitOn(browser, `/admin/clients/${web.client.id}/delete`, `/admin/clients/${web.client.id}/delete`, {
    confirm: 'yes',
  })
  t.equal(location(deleted), '/admin/clients?notice=client-deleted')
  t.equal(await ctx.deps.repos.clients.find(web.client.id), undefined, 'gone')
  t.match(textOf((await browser.get(location(deleted))).body), 'The client was deleted.')
  await auditedBy(t, ctx, 'client_removed', admin.id)
  t.equal((await browser.get(`/admin/clients/${web.client.id}`)).statusCode, 404)
})

t.test('clients: settings changed through the form, the registration rules judging them', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const web = await ctx.addClient({ name: 'Web app', redirectUris: ['https://app.example/callback'] })
  const page = `/admin/clients/${web.client.id}`
  const action = `${page}/settings`
  const form = {
    settings: '1',
    name: 'Web app <new>',
    redirect_uris: 'https://app.example/callback\r\nhttps://app.example/cb2\r\n',
    post_logout_redirect_uris: '',
    scopes: 'openid  email',
    require_mfa: 'on',
    require_par: 'on',
    backchannel_logout_uri: 'https://app.example/logout',
    logo_uri: 'https://app.example/logo.png',
    client_uri: 'https://app.example/',
    policy_uri: 'https://app.example/privacy',
    tos_uri: '',
  }
  const saved = await submitOn(browser, page, action, form)
  t.equal(location(saved), `${page}?notice=client-updated`)
  t.match(await ctx.deps.repos.clients.find(web.client.id), {
    name: 'Web app <new>',
    redirectUris: ['https://app.example/callback', 'https://app.example/cb2'],
    scopes: ['openid', 'email'],
    requireMfa: true,
    requireDpop: false,
    requirePar: true,
    backchannelLogoutUri: 'https://app.example/logout',
    metadata: { logo_uri: 'https://app.example/logo.png', client_uri: 'https://app.example/', policy_uri: 'https://app.example/privacy' },
  })
  t.notOk('tos_uri' in (await ctx.deps.repos.clients.find(web.client.id))!.metadata, 'an empty page link is none')
  const shown = await browser.get(location(saved))
  t.match(textOf(shown.body), 'The client’s settings were saved.')
  t.match(shown.body, 'Web app &lt;new&gt;', 'escaped')
  t.match(shown.body, /<input type="checkbox" name="require_mfa" value="on" checked>/, 'the form shows the stored policy')
  await auditedBy(t, ctx, 'client_updated', admin.id)

  const { require_mfa: _mfa, require_par: _par, ...withoutBoxes } = form
  const unticked = await submitOn(browser, page, action, { ...withoutBoxes, backchannel_logout_uri: '' })
  t.equal(unticked.statusCode, 303)
  t.match(
    await ctx.deps.repos.clients.find(web.client.id),
    { requireMfa: false, requirePar: false, backchannelLogoutUri: null },
    'unticked: off',
  )

  const bad = await submitOn(browser, page, action, { ...form, redirect_uris: 'https://app.example/callback\nhttp://evil.example/cb' })
  t.equal(bad.statusCode, 422)
  t.match(
    textOf(bad.body),
    /Redirect URIs: .* \(http:\/\/evil\.example\/cb\)\. Nothing was changed\./,
    'the problem, naming the field and the value',
  )
  t.match(bad.body, 'http://evil.example/cb</textarea>', 'the values as typed are kept')
  const badLogo = await submitOn(browser, page, action, { ...form, logo_uri: 'http://app.example/logo.png' })
  t.equal(badLogo.statusCode, 422)
  t.match(textOf(badLogo.body), /Logo URL: must be an https URL/, 'a page link that is not https, naming the field')
  t.same((await ctx.deps.repos.clients.find(web.client.id))?.redirectUris, ['https://app.example/callback', 'https://app.example/cb2'])
  const noToken = await browser.post(action, form)
  t.equal(noToken.statusCode, 403, 'no anti-forgery token: refused')
})

t.test('users: search, roles, disable and enable, second factors, delete', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  const browser = await adminBrowser(ctx, admin)
  const ada = await addAdmin(ctx, { roles: ['ops'], email: 'Ada.Lovelace@example.org' })
  const grace = await ctx.addUser({ email: 'grace@example.net' })

  const search = await browser.get('/admin/users?email=LOVELACE')
  t.match(textOf(search.body), 'Ada.Lovelace@example.org', 'search ignores case')
  t.notMatch(textOf(search.body), 'grace@example.net')
  t.notMatch(textOf((await browser.get('/admin/users?email=%25')).body), 'grace@example.net', 'LIKE wildcards are plain characters')
  const everyone = textOf((await browser.get('/admin/users')).body)
  t.match(everyone, 'grace@example.net')
  t.match(everyone, 'root@example.com')

  const page = textOf((await browser.get(`/admin/users/${ada.id}`)).body)
  t.match(page, '0 passkeys, an authenticator app, 0 unused recovery codes', 'the factors summary')
  t.match(page, 'Not signed in anywhere.')

  const href = `/admin/users/${ada.id}`
  const saved = await submitOn(browser, href, `${href}/roles`, { roles: 'ops, billing admin' })
  t.equal(location(saved), `${href}?notice=roles-saved`)
  t.same((await ctx.deps.repos.users.findById(ada.id))?.roles, ['admin', 'billing', 'ops'])
  await auditedBy(t, ctx, 'roles_changed', admin.id)
  const bad = await submitOn(browser, href, `${href}/roles`, { roles: 'ops bad!role' })
  t.equal(bad.statusCode, 400)
  t.match(textOf(bad.body), 'Not role names: bad!role. A role name has letters, digits')
  t.match(bad.body, 'value="ops bad!role"', 'what was typed stays in the field')
  const self = await submitOn(browser, `/admin/users/${admin.id}`, `/admin/users/${admin.id}/roles`, { roles: 'ops' })
  t.equal(self.statusCode, 409, 'an admin cannot take the admin role from themselves here')
  t.same((await ctx.deps.repos.users.findById(admin.id))?.roles, ['admin'])

  const graceBrowser = new Browser(ctx)
  t.equal(location(await graceBrowser.login(grace.email, grace.password)), '/account')
  const disabled = await submitOn(browser, `/admin/users/${grace.id}`, `/admin/users/${grace.id}/disable`)
  t.equal(location(disabled), `/admin/users/${grace.id}?notice=user-disabled`)
  t.not((await ctx.deps.repos.users.findById(grace.id))?.disabledAt, null)
  t.equal(location(await graceBrowser.get('/account')), '/login', 'their session ended')
  await auditedBy(t, ctx, 'account_disabled', admin.id)
  t.match(textOf((await browser.get(`/admin/users/${grace.id}`)).body), 'Enable the account')
  const enabled = await submitOn(browser, `/admin/users/${grace.id}`, `/admin/users/${grace.id}/enable`)
  t.equal(location(enabled), `/admin/users/${grace.id}?notice=user-enabled`)
  t.equal((await ctx.deps.repos.users.findById(grace.id))?.disabledAt, null)
  await auditedBy(t, ctx, 'account_enabled', admin.id)
  const ownPage = await browser.get(`/admin/users/${admin.id}`)
  t.notMatch(ownPage.body, `/admin/users/${admin.id}/disable`, 'no disable form for yourself')
  t.equal(
    (await browser.post(`/admin/users/${admin.id}/disable`, { _csrf: hiddenField(ownPage.body, '_csrf') })).statusCode,
    409,
    'nor accepted',
  )
  t.equal((await ctx.deps.repos.users.findById(admin.id))?.disabledAt, null)

  const confirmReset = await browser.get(`${href}/reset-factors`)
  t.match(textOf(confirmReset.body), 'Reset the second factors of Ada.Lovelace@example.org?')
  const reset = await submitOn(browser, `${href}/reset-factors`, `${href}/reset-factors`, { confirm: 'yes' })
  t.equal(location(reset), `${href}?notice=factors-reset`)
  t.equal(await ctx.deps.repos.totp.find(ada.id), undefined, 'the authenticator app is gone')
  t.equal(await ctx.deps.repos.recoveryCodes.countUnused(ada.id), 0)
  await auditedBy(t, ctx, 'factors_reset', admin.id)
  t.equal((await browser.get(`/admin/users/${admin.id}/reset-factors`)).statusCode, 409, 'not your own factors')

  const deleted = await submitOn(browser, `${href}/delete`, `${href}/delete`, { confirm: 'yes' })
  t.equal(location(deleted), '/admin/users?notice=user-deleted')
  t.equal(await ctx.deps.repos.users.findById(ada.id), undefined)
  await auditedBy(t, ctx, 'user_deleted', admin.id)
  t.equal((await browser.get(href)).statusCode, 404)
  t.equal((await browser.get(`/admin/users/${admin.id}/delete`)).statusCode, 409, 'not yourself')
})

t.test('users: their data exported as a JSON download, audited', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const ada = await ctx.addUser({ email: 'ada@example.com', name: 'Ada' })
  const exported = await submitOn(browser, `/admin/users/${ada.id}`, `/admin/users/${ada.id}/export`)
  t.equal(exported.statusCode, 200)
  t.match(exported.headers['content-type'], /^application\/json/)
  t.equal(exported.headers['content-disposition'], `attachment; filename="user-${ada.id}.json"`)
  t.equal(exported.headers['cache-control'], 'no-store')
  const document = JSON.parse(exported.body) as Record<string, unknown>
  t.match(document, { format: String, profile: { sub: ada.id, email: 'ada@example.com', name: 'Ada', has_password: true } })
  t.notMatch(exported.body, /argon2|password_hash/, 'no password hash')
  await auditedBy(t, ctx, 'user_data_exported', admin.id)
  t.equal((await browser.post(`/admin/users/${ada.id}/export`, {})).statusCode, 403, 'no anti-forgery token: refused')
  const page = await browser.get(`/admin/users/${ada.id}`)
  const unknown = await browser.post('/admin/users/no-such-user/export', { _csrf: hiddenField(page.body, '_csrf') })
  t.equal(unknown.statusCode, 404, 'an unknown user: the 404 page')
})

t.test('sessions: listed per user, one ended, all ended', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const user = await ctx.addUser()
  const laptop = new Browser(ctx, { userAgent: FIREFOX_LINUX })
  const phone = new Browser(ctx)
  const other = new Browser(ctx)
  for (const b of [laptop, phone, other]) t.equal(location(await b.login(user.email, user.password)), '/account')

  const href = `/admin/users/${user.id}`
  const page = await browser.get(href)
  t.match(textOf(page.body), 'Firefox on Linux')
  t.equal([...page.body.matchAll(/name="handle" value="/g)].length, 3, 'three live sessions')
  const handle = (await ctx.deps.repos.sessions.listLiveForUser(user.id, ctx.clock.now(), 3600)).find(
    (s) => s.userAgent === FIREFOX_LINUX,
  )?.handle
  if (!t.ok(handle)) return
  const ended = await browser.post(`${href}/sessions/end`, { _csrf: hiddenField(page.body, '_csrf'), handle: handle! })
  t.equal(location(ended), `${href}?notice=session-ended`)
  t.equal(location(await laptop.get('/account')), '/login', 'that browser is signed out')
  t.equal((await phone.get('/account')).statusCode, 200, 'the others are not')
  const event = await auditedBy(t, ctx, 'revocation', admin.id, (e) => e.detail['kind'] === 'session')
  t.equal(event?.detail['reason'], 'ended_by_admin')
  t.equal(event?.userId, user.id)
  const again = await browser.post(`${href}/sessions/end`, { _csrf: hiddenField(page.body, '_csrf'), handle: handle! })
  t.equal(location(again), `${href}?notice=session-ended`, 'an ended session: nothing to do, no error')

  const all = await submitOn(browser, href, `${href}/sessions/end-all`)
  t.equal(location(all), `${href}?notice=sessions-ended`)
  for (const b of [phone, other]) t.equal(location(await b.get('/account')), '/login')
  const allEvent = await auditedBy(t, ctx, 'revocation', admin.id, (e) => e.detail['kind'] === 'all_sessions')
  t.equal(allEvent?.detail['sessions'], 2)
  t.match(textOf((await browser.get(href)).body), 'Not signed in anywhere.')

  // The admin's own row: ending it signs this browser out.
  const ownPage = await browser.get(`/admin/users/${admin.id}`)
  t.match(textOf(ownPage.body), 'your browser')
  const own = await browser.post(`/admin/users/${admin.id}/sessions/end`, {
    _csrf: hiddenField(ownPage.body, '_csrf'),
    handle: hiddenField(ownPage.body, 'handle'),
  })
  t.equal(location(own), '/login')
  t.equal(location(await browser.get('/admin')), '/login')
})

t.test('keys: list, routine rotation when ready, emergency rotation, revocation', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const before = await ctx.deps.keys.list()
  const active = before.find((key) => key.state === 'active')!
  const next = before.find((key) => key.state === 'next')!

  const page = await browser.get('/admin/keys')
  t.match(textOf(page.body), `${active.kid} RS256 Active: signs tokens`)
  t.match(textOf(page.body), `${next.kid} RS256 Next`)

  // The test app's keys were made when the app started; the console's sign-in moved the clock 30 s.
  const early = await submitOn(browser, '/admin/keys', '/admin/keys/rotate')
  t.equal(early.statusCode, 409, 'the next key is too new for every instance to serve')
  t.match(textOf(early.body), `The next key ${next.kid} can sign in`)
  t.equal(ctx.deps.keys.signingKey().kid, active.kid, 'nothing changed')

  ctx.clock.advance(ctx.deps.config.keyRefreshInterval + ctx.deps.config.clockSkew)
  const rotated = await submitOn(browser, '/admin/keys', '/admin/keys/rotate')
  t.equal(rotated.statusCode, 200, 'rotated, with a note: the key was published for less than the JWKS max-age')
  t.match(textOf(rotated.body), `Key ${next.kid} signs now`)
  t.equal(ctx.deps.keys.signingKey().kid, next.kid)
  await auditedBy(t, ctx, 'key_rotation', admin.id, (e) => e.detail['kind'] === 'routine' && e.detail['activeKid'] === next.kid)

  const confirm = await browser.get('/admin/keys/rotate-now')
  t.match(textOf(confirm.body), 'Rotate the keys now?')
  const now = await submitOn(browser, '/admin/keys/rotate-now', '/admin/keys/rotate-now', { confirm: 'yes' })
  t.equal(now.statusCode, 200)
  const emergency = ctx.deps.keys.signingKey().kid
  t.not(emergency, next.kid, 'another key signs')
  await auditedBy(t, ctx, 'key_rotation', admin.id, (e) => e.detail['activeKid'] === emergency)

  const victim = ctx.deps.keys.signingKey().kid
  const revokePage = `/admin/keys/${victim}/revoke`
  t.match(textOf((await browser.get(revokePage)).body), `Key ${victim} (active) leaves the published keys at once`)
  const revoked = await submitOn(browser, revokePage, revokePage, { confirm: 'yes' })
  t.equal(location(revoked), '/admin/keys?notice=key-revoked')
  t.notMatch(ctx.deps.keys.jwksJson(), victim, 'out of the JWKS')
  t.not(ctx.deps.keys.signingKey().kid, victim)
  await auditedBy(t, ctx, 'key_rotation', admin.id, (e) => e.detail['kind'] === 'emergency_revocation' && e.detail['kid'] === victim)
  t.equal((await browser.get(revokePage)).statusCode, 404, 'a revoked key cannot be revoked again')
  t.match(textOf((await browser.get('/admin/keys')).body), `${victim} RS256 Revoked`)
})

t.test('audit log: filters and pages', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  const user = await ctx.addUser({ email: 'watched@example.com' })
  for (let i = 0; i < 60; i++) {
    ctx.clock.advance(1)
    await ctx.deps.audit.record('login_failure', { userId: user.id, detail: { attempt: i } })
  }
  ctx.clock.advance(7200)
  await ctx.deps.audit.record('password_changed', { userId: user.id })
  const browser = await adminBrowser(ctx, admin)

  const first = await browser.get('/admin/audit?type=login_failure&user=WATCHED%40example.com')
  t.equal(first.statusCode, 200)
  const attempts = (html: string) => [...html.matchAll(/attempt: (\d+)/g)].map((match) => Number(match[1]))
  const page1 = attempts(first.body)
  t.equal(page1.length, 50, 'fifty to a page')
  t.same(page1.slice(0, 2), [59, 58], 'newest first')
  const older = /<a href="([^"]+)" rel="next">Older events<\/a>/.exec(first.body)?.[1]?.replace(/&amp;/g, '&')
  if (!t.ok(older, 'a link to older events')) return
  const second = await browser.get(older!)
  const page2 = attempts(second.body)
  t.same(page2, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 'the rest, none repeated or skipped')
  t.notMatch(second.body, 'rel="next"', 'the last page')
  t.match(second.body, 'Newest events')
  t.match(textOf(first.body), 'watched@example.com', 'users shown by their address')

  const recent = await browser.get('/admin/audit?since=1h&user=watched%40example.com')
  t.match(textOf(recent.body), 'password_changed')
  t.notMatch(textOf(recent.body), 'login_failure', 'older than an hour: not shown')
  const unknown = await browser.get('/admin/audit?user=nobody%40example.com')
  t.match(textOf(unknown.body), 'No user has that email address.')
  t.equal((await browser.get('/admin/audit?since=forever')).statusCode, 400, 'only the offered ages')
  t.equal((await browser.get('/admin/audit?after=1.a%27--')).statusCode, 400, 'a cursor that is not one')
  const actor = await browser.get('/admin/audit?type=step_up')
  t.equal(actor.statusCode, 200)
})
