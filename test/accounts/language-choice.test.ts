/**
 * The language choice on the account page (issue 19): the order is ui_locales, then the user's
 * saved choice, then Accept-Language, then DEFAULT_LOCALE. Saving a language turns the account
 * pages into it at once (the notice too), whatever the browser asks for; "Browser default" gives
 * the browser its say again. A value that is no supported language, or a form without its
 * anti-forgery token, changes nothing. Runs on SQLite, and on PostgreSQL with TEST_DATABASE=postgres.
 */
import t from 'tap'
import type { LightMyRequestResponse as Response } from 'fastify'
import { Browser, hiddenField } from '../helpers/client.js'
import { createTestApp, type TestApp, type TestUser } from '../helpers/test-app.js'

const EVIL = 'https://evil.example'

/** A signed-in browser whose Accept-Language can change between requests (the Browser helper sends none). */
class LanguageBrowser {
  readonly browser: Browser
  acceptLanguage: string | null

  constructor(
    private readonly ctx: TestApp,
    acceptLanguage: string | null,
  ) {
    this.browser = new Browser(ctx)
    this.acceptLanguage = acceptLanguage
  }

  async #send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string): Promise<Response> {
    const response = await this.ctx.app.inject({
      method,
      url,
      headers: {
        ...headers,
        cookie: this.browser.jar.header(),
        ...(this.acceptLanguage === null ? {} : { 'accept-language': this.acceptLanguage }),
      },
      ...(payload === undefined ? {} : { payload }),
    })
    this.browser.jar.store(response)
    return response
  }

  get(url: string): Promise<Response> {
    return this.#send('GET', url, { accept: 'text/html' })
  }

  post(url: string, fields: Record<string, string>, origin = new URL(this.ctx.issuer).origin): Promise<Response> {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin, accept: 'text/html' }
    return this.#send('POST', url, headers, new URLSearchParams(fields).toString())
  }

  /** The language form posted from the account page, with the page's anti-forgery token. */
  async choose(locale: string): Promise<Response> {
    const page = await this.get('/account')
    if (page.statusCode !== 200) throw new Error(`/account answered ${page.statusCode}`)
    return this.post('/account/language', { _csrf: hiddenField(page.body, '_csrf'), locale })
  }
}

async function signedIn(ctx: TestApp, user: TestUser, acceptLanguage: string | null): Promise<LanguageBrowser> {
  const browser = new LanguageBrowser(ctx, acceptLanguage)
  const response = await browser.browser.login(user.email, user.password)
  if (response.statusCode !== 303 || response.headers.location !== '/account')
    throw new Error(`login answered ${response.statusCode} ${String(response.headers.location)}`)
  return browser
}

const htmlLang = (html: string): string | null => /<html lang="([^"]*)"/.exec(html)?.[1] ?? null
const heading = (html: string): string | null => /<h1 id="page-title">([^<]*)<\/h1>/.exec(html)?.[1] ?? null
const noticeOn = (html: string): string | null => /<div class="notice" role="status">([^<]*)<\/div>/.exec(html)?.[1] ?? null
const fieldProblem = (html: string, id: string): string | null =>
  new RegExp(`<p class="field-problem" id="${id}-problem">([^<]*)</p>`).exec(html)?.[1] ?? null

/** The options of the language select: value, lang attribute, label, selected. */
function languageOptions(html: string): { value: string; lang: string | null; label: string; selected: boolean }[] {
  const select = /<select id="locale" name="locale"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? ''
  return [...select.matchAll(/<option value="([^"]*)"([^>]*)>([^<]*)<\/option>/g)].map(([, value = '', attributes = '', label = '']) => ({
    value,
    lang: /lang="([^"]*)"/.exec(attributes)?.[1] ?? null,
    label,
    selected: /\bselected\b/.test(attributes),
  }))
}

const storedLocale = async (ctx: TestApp, userId: string) => (await ctx.deps.repos.users.findById(userId))?.locale

async function app(t: { teardown(fn: () => unknown): void }): Promise<TestApp> {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  return ctx
}

t.test('the account page offers "Browser default" and each language in its own name, the current choice selected', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const browser = await signedIn(ctx, user, null)
  const page = await browser.get('/account')
  t.equal(page.statusCode, 200)
  t.equal(htmlLang(page.body), 'en', 'no choice, no Accept-Language: DEFAULT_LOCALE')
  t.match(page.body, '<h2>Language</h2>')
  t.match(page.body, '<form method="post" action="/account/language" novalidate>')
  t.match(page.body, '<label for="locale">')
  t.match(page.body, 'Save language')
  t.same(languageOptions(page.body), [
    { value: '', lang: null, label: 'Browser default', selected: true },
    { value: 'en', lang: 'en', label: 'English', selected: false },
    { value: 'de', lang: 'de', label: 'Deutsch', selected: false },
    { value: 'fr', lang: 'fr', label: 'Français', selected: false },
    { value: 'es', lang: 'es', label: 'Español', selected: false },
  ])

  // The browser's language without a choice; the language names stay endonyms in every language.
  browser.acceptLanguage = 'fr-CA, en;q=0.5'
  const french = await browser.get('/account')
  t.equal(htmlLang(french.body), 'fr')
  t.equal(heading(french.body), 'Votre compte')
  t.same(
    languageOptions(french.body).map((option) => option.label),
    ['Langue du navigateur', 'English', 'Deutsch', 'Français', 'Español'],
  )
})

t.test('choosing German: the account pages are German, the notice too, even for a browser asking for French', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser({ name: 'Ada' })
  const browser = await signedIn(ctx, user, 'fr')

  const saved = await browser.choose('de')
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/account?notice=language-saved')
  t.equal(await storedLocale(ctx, user.id), 'de', 'stored')

  const page = await browser.get('/account?notice=language-saved')
  t.equal(page.statusCode, 200)
  t.equal(htmlLang(page.body), 'de', 'the saved choice wins over Accept-Language: fr')
  t.match(page.body, '<title>Ihr Konto')
  t.equal(heading(page.body), 'Ihr Konto')
  t.equal(noticeOn(page.body), 'Ihre Sprache wurde gespeichert.', 'the notice in the new language')
  t.match(page.body, '<dt>Name</dt><dd>Ada</dd>')
  t.match(page.body, '<h2>Passwort ändern</h2>')
  t.match(page.body, /angemeldet am [^<]*, zuletzt aktiv am /, 'dates in words of the language')
  t.notMatch(page.body, /\d{4}-\d{2}-\d{2}/, 'no ISO dates left')
  t.equal(languageOptions(page.body).find((option) => option.selected)?.value, 'de', 'German is selected')

  // The confirmation page of a deletion, and the refusals of the forms, speak it too.
  const deletion = await browser.get('/account/delete')
  t.equal(htmlLang(deletion.body), 'de')
  t.equal(heading(deletion.body), 'Ihr Konto löschen')
  t.match(deletion.body, 'Damit wird das Konto <strong>')
  const wrong = await browser.post('/account/delete', {
    _csrf: hiddenField(deletion.body, '_csrf'),
    password: 'not the password',
    confirm: 'yes',
  })
  t.equal(wrong.statusCode, 400)
  t.equal(fieldProblem(wrong.body, 'password'), 'Ihr aktuelles Passwort ist nicht korrekt. Es wurde nichts gelöscht.')

  const short = await browser.post('/account/password', {
    _csrf: hiddenField(page.body, '_csrf'),
    current_password: user.password,
    password: 'short',
    password_confirm: 'short',
  })
  t.equal(short.statusCode, 400)
  t.match(fieldProblem(short.body, 'password') ?? '', /^Verwenden Sie mindestens 8 Zeichen/, 'the password rules in German too')

  // The export carries the choice.
  const download = await browser.post('/account/data', { _csrf: hiddenField(page.body, '_csrf') })
  t.equal(download.statusCode, 200)
  t.match(download.json(), { profile: { sub: user.id, locale: 'de' } })
})

t.test('"Browser default" clears the choice: the browser\'s language again', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const browser = await signedIn(ctx, user, 'fr')
  t.equal((await browser.choose('de')).statusCode, 303)
  t.equal(htmlLang((await browser.get('/account')).body), 'de')

  const cleared = await browser.choose('')
  t.equal(cleared.statusCode, 303)
  t.equal(cleared.headers.location, '/account?notice=language-saved')
  t.equal(await storedLocale(ctx, user.id), null, 'no choice stored')
  const page = await browser.get('/account?notice=language-saved')
  t.equal(htmlLang(page.body), 'fr', 'Accept-Language decides again')
  t.equal(noticeOn(page.body), 'Votre langue a été enregistrée.')
  t.equal(languageOptions(page.body).find((option) => option.selected)?.value, '', '"Browser default" is selected')

  browser.acceptLanguage = null
  t.equal(htmlLang((await browser.get('/account')).body), 'en', 'and without one, DEFAULT_LOCALE')
})

t.test('a value that is no supported language is refused with a 400 page and changes nothing', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const browser = await signedIn(ctx, user, 'fr')
  t.equal((await browser.choose('de')).statusCode, 303)

  for (const value of ['xx', 'de-DE', 'DE', ' de', 'constructor', '__proto__']) {
    const refused = await browser.choose(value)
    t.equal(refused.statusCode, 400, `${JSON.stringify(value)}: 400`)
    t.equal(refused.headers['cache-control'], 'no-store')
    t.equal(htmlLang(refused.body), 'de', 'still in the saved language')
    t.equal(fieldProblem(refused.body, 'locale'), 'Wählen Sie eine der aufgeführten Sprachen.')
    t.match(refused.body, /<select id="locale" name="locale"[^>]*aria-invalid="true"/, 'the field is marked')
    t.equal(await storedLocale(ctx, user.id), 'de', 'unchanged')
  }

  // Longer than any language tag, or no field at all: refused by the form's schema, still a 400 page.
  const page = await browser.get('/account')
  for (const fields of [{ locale: 'x'.repeat(200) }, {}] as Record<string, string>[]) {
    const malformed = await browser.post('/account/language', { _csrf: hiddenField(page.body, '_csrf'), ...fields })
    t.equal(malformed.statusCode, 400)
    t.match(malformed.headers['content-type'], /^text\/html/, 'a page, not a 500')
  }
  t.equal(await storedLocale(ctx, user.id), 'de', 'unchanged')
})

t.test('the language form refuses posts without the anti-forgery token, from another origin or without a session', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const browser = await signedIn(ctx, user, null)
  const csrf = hiddenField((await browser.get('/account')).body, '_csrf')

  t.equal((await browser.post('/account/language', { locale: 'de' })).statusCode, 403, 'without a token')
  t.equal((await browser.post('/account/language', { locale: 'de', _csrf: csrf }, EVIL)).statusCode, 403, 'from another origin')
  const other = await signedIn(ctx, await ctx.addUser(), null)
  const foreign = hiddenField((await other.get('/account')).body, '_csrf')
  t.equal((await browser.post('/account/language', { locale: 'de', _csrf: foreign })).statusCode, 403, "with another session's token")
  t.equal(await storedLocale(ctx, user.id), null, 'unchanged')

  const anonymous = new LanguageBrowser(ctx, null)
  const login = await anonymous.get('/login')
  const blind = await anonymous.post('/account/language', { locale: 'de', _csrf: hiddenField(login.body, '_csrf') })
  t.equal(blind.statusCode, 303)
  t.equal(blind.headers.location, '/login')

  // Control: this browser's own token from our origin works.
  t.equal((await browser.post('/account/language', { locale: 'de', _csrf: csrf })).statusCode, 303)
  t.equal(await storedLocale(ctx, user.id), 'de')
})
