/**
 * The sign-in flow's pages beyond the login page speak the browser's language (Accept-Language):
 * signup and its field problems, forgotten and reset passwords, the second factor and enrolment
 * (the passkey script's words included), device verification and sign-out. The title, the page
 * and `<html lang>` change together; without a preference the pages stay English. A signup saves
 * its page's language as the new account's choice.
 */
import t from 'tap'
import type { LightMyRequestResponse as Response } from 'fastify'
import { CookieJar, hiddenField } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { addDeviceClient, startDevice } from '../device/support.js'
import { enableApp, MfaBrowser } from '../mfa/support.js'
import type { Locale } from '../../src/i18n/locales.js'

const NO_THROTTLE = { SIGNUP_RATE_LIMIT: '100000', LOGIN_RATE_LIMIT: '100000', FORGOT_PASSWORD_RATE_LIMIT: '100000' }

/** A browser whose every request asks for one language (the Browser helper sends no Accept-Language). */
class SpeakingBrowser {
  readonly jar = new CookieJar()

  constructor(
    private readonly ctx: TestApp,
    private readonly language: string | null,
  ) {}

  async #send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string): Promise<Response> {
    const response = await this.ctx.app.inject({
      method,
      url,
      headers: { ...headers, cookie: this.jar.header(), ...(this.language === null ? {} : { 'accept-language': this.language }) },
      ...(payload === undefined ? {} : { payload }),
    })
    this.jar.store(response)
    return response
  }

  get(url: string): Promise<Response> {
    return this.#send('GET', url, { accept: 'text/html' })
  }

  /** GET the page, then POST its form with the page's anti-forgery token, same-origin. */
  async submit(pageUrl: string, postUrl: string, fields: Record<string, string>): Promise<Response> {
    const page = await this.get(pageUrl)
    if (page.statusCode !== 200) throw new Error(`${pageUrl} answered ${page.statusCode}`)
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(this.ctx.issuer).origin, accept: 'text/html' }
    return this.#send('POST', postUrl, headers, new URLSearchParams({ _csrf: hiddenField(page.body, '_csrf'), ...fields }).toString())
  }

  login(email: string, password: string): Promise<Response> {
    return this.submit('/login', '/login', { interaction: '', email, password })
  }
}

async function testApp(t: { teardown(fn: () => unknown): void }): Promise<TestApp> {
  const ctx = await createTestApp({ env: NO_THROTTLE })
  t.teardown(() => ctx.close())
  return ctx
}

const langOf = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1]
const titleOf = (html: string) => /<title>([^<]*) · /.exec(html)?.[1]
const fieldProblem = (html: string, field: string) =>
  new RegExp(`<p class="field-problem" id="${field}-problem">([^<]*)</p>`).exec(html)?.[1]
/** An attribute value as the template writes it (escaped like `<%= %>`). */
const attribute = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

t.test('signup in German: the form, the field problems and the answer', async (t) => {
  const ctx = await testApp(t)
  const browser = new SpeakingBrowser(ctx, 'de-CH, de;q=0.9, en;q=0.5')

  const form = await browser.get('/signup')
  t.equal(form.statusCode, 200)
  t.equal(langOf(form.body), 'de')
  t.equal(titleOf(form.body), 'Ihr Konto erstellen')
  t.match(form.body, '<h1 id="page-title">Ihr Konto erstellen</h1>')
  t.match(form.body, 'weiter zu Ihrem Konto')
  t.match(form.body, 'Mindestens 12 Zeichen.', 'the password hint, its number through a plural')
  t.match(form.body, '>Konto erstellen</button>')
  t.notMatch(form.body, 'Create your account')

  const refused = await browser.submit('/signup', '/signup', { interaction: '', name: ' ', email: 'ada@example.com.', password: 'short' })
  t.equal(refused.statusCode, 400)
  t.equal(langOf(refused.body), 'de')
  t.match(refused.body, 'Bitte korrigieren Sie die unten markierten Felder.')
  t.equal(fieldProblem(refused.body, 'name'), 'Geben Sie Ihren Namen ein.')
  t.equal(fieldProblem(refused.body, 'email'), 'Entfernen Sie den Punkt am Ende der Adresse.')
  t.equal(fieldProblem(refused.body, 'password'), 'Verwenden Sie mindestens 8 Zeichen (12 oder mehr sind besser).')

  const common = await browser.submit('/signup', '/signup', {
    interaction: '',
    name: 'Ada',
    email: 'ada@example.com',
    password: 'password1',
  })
  t.equal(fieldProblem(common.body, 'password'), 'Dieses Passwort ist zu verbreitet. Wählen Sie eines, das schwerer zu erraten ist.')

  const done = await browser.submit('/signup', '/signup', {
    interaction: '',
    name: 'Ada',
    email: 'ada@example.com',
    password: 'lantern quietly orbits',
  })
  t.equal(done.statusCode, 200)
  t.equal(langOf(done.body), 'de')
  t.equal(titleOf(done.body), 'Prüfen Sie Ihre E-Mails')
  t.match(done.body, '>Weiter zur Anmeldung</a>')
  t.equal((await ctx.deps.repos.users.findByEmail('ada@example.com'))?.locale, 'de', 'the page language is the new account’s choice')
})

t.test('forgotten and reset passwords in French', async (t) => {
  const ctx = await testApp(t)
  const browser = new SpeakingBrowser(ctx, 'fr-FR,fr;q=0.9')

  const form = await browser.get('/forgot-password')
  t.equal(langOf(form.body), 'fr')
  t.equal(titleOf(form.body), 'Mot de passe oublié\u00a0?')
  t.match(form.body, '>Envoyer le lien de réinitialisation</button>')
  t.match(form.body, '>Retour à la connexion</a>')

  const sent = await browser.submit('/forgot-password', '/forgot-password', { email: 'nobody@example.com' })
  t.equal(sent.statusCode, 200)
  t.equal(titleOf(sent.body), 'Consultez vos e-mails')
  t.match(sent.body, /expire dans \d+ minutes/)

  const expired = await browser.get('/reset-password')
  t.equal(expired.statusCode, 400)
  t.equal(langOf(expired.body), 'fr')
  t.equal(titleOf(expired.body), 'Ce lien a expiré')
  t.match(expired.body, '>Demander un nouveau lien</a>')
})

t.test('the second factor and enrolment in French, with the passkey script’s words', async (t) => {
  const ctx = await testApp(t)
  const words = ctx.deps.i18n.translator('fr' satisfies Locale)

  // A user with an authenticator app is asked for it after the password.
  const user = await ctx.addUser()
  const setup = new MfaBrowser(ctx)
  await setup.login(user.email, user.password)
  await enableApp(setup)
  const browser = new SpeakingBrowser(ctx, 'fr')
  const login = await browser.login(user.email, user.password)
  t.equal(login.headers.location, '/login/second-factor')
  const page = await browser.get('/login/second-factor')
  t.equal(page.statusCode, 200)
  t.equal(langOf(page.body), 'fr')
  t.equal(titleOf(page.body), 'Confirmez votre identité')
  t.match(page.body, '<label for="code">Code de votre application d’authentification</label>')
  t.match(page.body, 'Encore une étape.')
  const wrong = await browser.submit('/login/second-factor', '/login/second-factor', { code: '000000' })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.body, 'Ce code n’a pas fonctionné.')

  // A user without one, on the enrolment page: the passkey form carries the script's words (adding, not signing in).
  const plain = await ctx.addUser()
  const enrolling = new SpeakingBrowser(ctx, 'fr')
  t.equal((await enrolling.login(plain.email, plain.password)).statusCode, 303)
  const enrol = await enrolling.get('/account/second-factor')
  t.equal(enrol.statusCode, 200)
  t.equal(langOf(enrol.body), 'fr')
  t.equal(titleOf(enrol.body), 'Configurer un second facteur')
  t.match(enrol.body, '>Ajouter une clé d’accès</button>')
  t.match(enrol.body, `data-cancelled="${attribute(words.t('passkey.cancelled'))}"`)
  t.match(enrol.body, `data-failed="${attribute(words.t('passkey.register_failed'))}"`)
})

t.test('device verification in German, from the code to the answer', async (t) => {
  const ctx = await testApp(t)
  const rp = await addDeviceClient(ctx, { name: 'Kitchen Radio' })
  const user = await ctx.addUser()
  const browser = new SpeakingBrowser(ctx, 'de')
  await browser.login(user.email, user.password)

  const entry = await browser.get('/device')
  t.equal(langOf(entry.body), 'de')
  t.equal(titleOf(entry.body), 'Gerät verbinden')
  t.match(entry.body, `um das Gerät mit Ihrem Konto (${user.email}) zu verbinden.`)
  const malformed = await browser.submit('/device', '/device', { user_code: 'XYZ' })
  t.equal(malformed.statusCode, 400)
  t.match(malformed.body, 'Ein Code hat 8 Buchstaben, etwa BCDF-GHJK.')

  const device = await startDevice(ctx, rp, 'openid email')
  const confirm = await browser.get(`/device?user_code=${device.user_code}`)
  t.equal(confirm.statusCode, 200)
  t.equal(titleOf(confirm.body), 'Kitchen Radio verbinden?')
  t.match(confirm.body, '<strong>Kitchen Radio</strong> möchte auf Ihr Konto')
  t.match(confirm.body, '>Erlauben</button>')
  t.match(confirm.body, '>Ablehnen</button>')
  const answered = await browser.submit(`/device?user_code=${device.user_code}`, '/device/decision', {
    user_code: device.user_code,
    decision: 'approve',
  })
  t.equal(answered.statusCode, 200)
  t.equal(titleOf(answered.body), 'Gerät verbunden')
  t.match(answered.body, 'Kitchen Radio ist jetzt mit Ihrem Konto verbunden.')
})

t.test('sign-out in Spanish; English without a preference', async (t) => {
  const ctx = await testApp(t)
  const browser = new SpeakingBrowser(ctx, 'es-MX,es;q=0.8')
  const confirm = await browser.get('/logout')
  t.equal(langOf(confirm.body), 'es')
  t.equal(titleOf(confirm.body), '¿Cerrar sesión?')
  t.match(confirm.body, '¿Desea cerrar sesión en Tessera?')
  const stayed = await browser.submit('/logout', '/logout/confirm', { decision: 'stay' })
  t.equal(stayed.statusCode, 200)
  t.equal(titleOf(stayed.body), 'Su sesión sigue iniciada')

  const english = await new SpeakingBrowser(ctx, null).get('/logout')
  t.equal(langOf(english.body), 'en')
  t.equal(titleOf(english.body), 'Sign out?')
})
