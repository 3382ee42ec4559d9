/**
 * The language of the pages (issue 19): OIDC ui_locales first (kept with the sign-in, so every
 * page of it and the error after a wrong password speak it), then the user's saved choice, then
 * Accept-Language, then DEFAULT_LOCALE; <html lang> says which; discovery lists the languages.
 * The words themselves come from the catalogues (test/unit/i18n/catalogues.test.ts holds them
 * complete); here the choice is what is checked.
 */
import t from 'tap'
import { authorizeUrl, Browser, hiddenField, pkcePair, RP } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const langOf = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1]

async function appWith(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

/** /authorize with these extra parameters, up to the login page: the page and the browser. */
async function loginPageFor(ctx: TestApp, clientId: string, extra: Record<string, string>, headers: Record<string, string> = {}) {
  const browser = new Browser(ctx)
  const { challenge } = pkcePair()
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: RP,
    scope: 'openid',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
  const started = await ctx.app.inject({ method: 'GET', url: authorizeUrl(params), headers: { accept: 'text/html', ...headers } })
  if (started.statusCode !== 303) throw new Error(`/authorize answered ${started.statusCode}`)
  const page = await ctx.app.inject({ method: 'GET', url: started.headers.location!, headers: { accept: 'text/html', ...headers } })
  browser.jar.store(page)
  return { page, browser }
}

t.test('discovery lists the page languages', async (t) => {
  const ctx = await appWith(t)
  const metadata = (await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json()
  t.same(metadata.ui_locales_supported, ['en', 'de', 'fr', 'es'])
})

t.test('ui_locales: the first supported tag, kept for the whole sign-in, over Accept-Language', async (t) => {
  const ctx = await appWith(t)
  const { client } = await ctx.addClient({ name: 'Photo Printer' })
  const user = await ctx.addUser()

  const german = await loginPageFor(ctx, client.id, { ui_locales: 'pt-BR de-AT en' }, { 'accept-language': 'fr' })
  t.equal(german.page.statusCode, 200)
  t.equal(langOf(german.page.body), 'de', 'the first supported tag of ui_locales wins over the browser')
  t.match(german.page.body, '<h1 id="page-title">Anmelden</h1>')
  t.match(german.page.body, /<label for="password">Passwort<\/label>/)

  // The wrong password's answer is a page of the same sign-in: still German, without ui_locales in its URL.
  const wrong = await german.browser.post('/login', {
    _csrf: hiddenField(german.page.body, '_csrf'),
    interaction: hiddenField(german.page.body, 'interaction'),
    email: user.email,
    password: 'not the password',
  })
  t.equal(wrong.statusCode, 401)
  t.equal(langOf(wrong.body), 'de')
  t.notMatch(wrong.body, 'Incorrect email or password', 'the error is in German too')
  t.match(wrong.body, /role="alert"/)

  const unsupported = await loginPageFor(ctx, client.id, { ui_locales: 'ja' }, { 'accept-language': 'es-MX,es;q=0.9' })
  t.equal(langOf(unsupported.page.body), 'es', 'an unsupported ui_locales falls through to Accept-Language')
})

t.test('Accept-Language, then DEFAULT_LOCALE; error pages speak it too', async (t) => {
  const ctx = await appWith(t, { DEFAULT_LOCALE: 'fr' })
  const page = (headers: Record<string, string>, url = '/login') =>
    ctx.app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...headers } })

  t.equal(langOf((await page({ 'accept-language': 'de-CH, en;q=0.5' })).body), 'de')
  const plain = await page({})
  t.equal(langOf(plain.body), 'fr', 'no Accept-Language: DEFAULT_LOCALE')
  t.match(plain.body, /<title>[^<]*Se connecter/)
  t.equal(langOf((await page({ 'accept-language': 'ja, *;q=0.1' })).body), 'fr', 'nothing supported: DEFAULT_LOCALE')

  const missing = await page({ 'accept-language': 'es' }, '/no-such-page')
  t.equal(missing.statusCode, 404)
  t.equal(langOf(missing.body), 'es', 'the 404 page is in the browser’s language')
  t.notMatch(missing.body, 'Page not found')

  const expired = await page({ 'accept-language': 'de' }, '/login?interaction=gone')
  t.equal(expired.statusCode, 400)
  t.equal(langOf(expired.body), 'de', 'an error thrown by a page route is in its language')
  t.notMatch(expired.body, 'This sign-in page has expired')
})

t.test('DEFAULT_LOCALE outside the supported languages stops the start with one line naming it', async (t) => {
  await t.rejects(createTestApp({ env: { DEFAULT_LOCALE: 'pt' } }), /DEFAULT_LOCALE/)
})
