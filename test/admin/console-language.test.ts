/**
 * The admin console in the admin's language: the language saved with their account, else their
 * browser's Accept-Language (page-locale.ts). Headings, menus, labels, notices, refusals, times
 * (Intl) and durations (plurals) change together with `<html lang>`; the technical identifiers
 * (event types, key states in sentences, scopes) stay as they are.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { hiddenField, type Browser } from '../helpers/client.js'
import type { TestApp } from '../helpers/test-app.js'
import { addAdmin, adminBrowser, consoleApp, location, submitOn, textOf } from './console-support.js'

const langOf = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1]
const titleOf = (html: string) => /<title>([^<]*) · /.exec(html)?.[1]
const headingOf = (html: string) => /<h1 id="page-title">([^<]*)<\/h1>/.exec(html)?.[1]

/** GET a page with the browser's cookies and an Accept-Language header (the Browser helper sends none). */
const getIn = (ctx: TestApp, browser: Browser, url: string, acceptLanguage: string): Promise<LightMyRequestResponse> =>
  ctx.app.inject({ method: 'GET', url, headers: { accept: 'text/html', cookie: browser.jar.header(), 'accept-language': acceptLanguage } })

t.test('an admin who chose German: every console page in German', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx, { email: 'root@example.com' })
  await ctx.deps.repos.users.setLocale(admin.id, 'de', ctx.clock.now())
  const browser = await adminBrowser(ctx, admin)
  const grace = await ctx.addUser({ email: 'grace@example.com' })
  await ctx.deps.audit.record('login_failure', { userId: grace.id, detail: { attempt: 1 } })
  const german = ctx.deps.i18n.translator('de')

  const home = await browser.get('/admin')
  t.equal(home.statusCode, 200)
  t.equal(langOf(home.body), 'de')
  t.equal(titleOf(home.body), 'Admin-Konsole')
  t.equal(headingOf(home.body), 'Admin-Konsole')
  t.match(home.body, 'aria-label="Admin-Konsole"', 'the menu')
  t.match(home.body, '>Übersicht</a>')
  t.match(textOf(home.body), 'Angemeldet als root@example.com.')
  t.match(textOf(home.body), /der aktive Schlüssel signiert schon \d+ (Sekunden|Minuten) lang/, 'a duration, through a plural')
  t.match(textOf(home.body), 'Neueste Sicherheitsereignisse')
  t.match(home.body, '<code>login_failure</code>', 'event types stay as they are')

  const users = await browser.get('/admin/users')
  t.equal(titleOf(users.body), 'Benutzer')
  t.match(textOf(users.body), 'E-Mail-Adresse enthält')
  t.match(users.body, '<span class="badge">aktiv</span>', 'the status in words')

  const page = await browser.get(`/admin/users/${grace.id}`)
  t.equal(langOf(page.body), 'de')
  t.match(textOf(page.body), '0 Passkeys, keine Authenticator-App, 0 ungenutzte Wiederherstellungscodes.')
  t.match(textOf(page.body), 'Nirgendwo angemeldet.')
  const created = (await ctx.deps.repos.users.findById(grace.id))!.createdAt
  t.match(page.body, `<dd>${german.dateTime(created)}</dd>`, 'the date as German writes it')
  t.notMatch(page.body, /\d{4}-\d{2}-\d{2}/, 'no ISO dates left')
  t.match(page.body, / UTC<\/dd>/, 'the time zone named')

  const disabled = await submitOn(browser, `/admin/users/${grace.id}`, `/admin/users/${grace.id}/disable`)
  t.equal(location(disabled), `/admin/users/${grace.id}?notice=user-disabled`)
  const after = await browser.get(location(disabled))
  t.match(after.body, '<div class="notice" role="status">Das Konto wurde deaktiviert.', 'the notice')
  t.match(after.body, '<span class="badge warn">deaktiviert</span>')

  const keys = await browser.get('/admin/keys')
  t.equal(headingOf(keys.body), 'Signaturschlüssel')
  t.match(textOf(keys.body), 'Aktiv: signiert Tokens')
  t.match(textOf(keys.body), /\d+ (Sekunden|Minuten) alt/)
  const early = await submitOn(browser, '/admin/keys', '/admin/keys/rotate')
  t.equal(early.statusCode, 409)
  t.equal(headingOf(early.body), 'Noch nicht')
  t.match(textOf(early.body), /Wartezeit, bis der nächste Schlüssel \S+ signieren kann: \d+ (Sekunden|Minuten)\./)

  const audit = await browser.get('/admin/audit?user=nobody%40example.com&type=Not%20a%20type')
  t.equal(headingOf(audit.body), 'Audit-Protokoll')
  t.match(textOf(audit.body), 'Kein Benutzer hat diese E-Mail-Adresse.')
  t.match(textOf(audit.body), 'Ein Ereignistyp ist ein Wort wie login_failure oder key_rotation.')
  t.match(audit.body, '<option value="1h">Letzte Stunde</option>')

  const confirm = await browser.get('/admin/keys/rotate-now')
  t.equal(titleOf(confirm.body), 'Schlüssel sofort rotieren?')
  t.match(confirm.body, '>Abbrechen</a>')
})

t.test('refusals in the admin’s language', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  await ctx.deps.repos.users.setLocale(admin.id, 'de', ctx.clock.now())
  const browser = await adminBrowser(ctx, admin)

  const own = await browser.get(`/admin/users/${admin.id}/delete`)
  t.equal(own.statusCode, 409)
  t.equal(langOf(own.body), 'de')
  t.equal(headingOf(own.body), 'Nicht bei Ihrem eigenen Konto')
  t.match(textOf(own.body), 'Sie können Ihr eigenes Konto in der Konsole nicht löschen: Sie könnten sich selbst aussperren.')
  t.match(textOf(own.body), 'Zurück zum Konto')

  // The account rules' reason (accounts/lifecycle.ts), with the names they refused.
  const member = await ctx.addUser({ email: 'member@example.com' })
  const memberHref = `/admin/users/${member.id}`
  const badRoles = await submitOn(browser, memberHref, `${memberHref}/roles`, { roles: 'ops bad!role' })
  t.equal(badRoles.statusCode, 400)
  t.equal(langOf(badRoles.body), 'de')
  t.match(textOf(badRoles.body), 'Keine gültigen Rollennamen: bad!role. Ein Rollenname besteht aus Buchstaben')

  // A service's reason (clients/lifecycle.ts), in the admin's words.
  const spa = await ctx.addClient({ name: 'Einzelseite', isPublic: true, redirectUris: ['https://spa.example/cb'] })
  const form = await browser.get(`/admin/clients/${spa.client.id}`)
  const noSecret = await browser.post(`/admin/clients/${spa.client.id}/secret`, { _csrf: hiddenField(form.body, '_csrf'), overlap: '3600' })
  t.equal(noSecret.statusCode, 409)
  t.equal(langOf(noSecret.body), 'de')
  t.equal(headingOf(noSecret.body), 'Für diesen Client nicht möglich')
  t.match(textOf(noSecret.body), 'Einzelseite ist ein öffentlicher Client und hat kein Secret.')

  const missing = await browser.get('/admin/clients/no-such-client')
  t.equal(missing.statusCode, 404)
  t.equal(langOf(missing.body), 'de')
  t.match(textOf(missing.body), 'Client nicht gefunden')

  // Not an admin: refused before the page's language is settled, yet in the user's saved language.
  const user = await addAdmin(ctx, { roles: ['ops'] })
  await ctx.deps.repos.users.setLocale(user.id, 'de', ctx.clock.now())
  const refused = await (await adminBrowser(ctx, user)).get('/admin')
  t.equal(refused.statusCode, 403)
  t.equal(langOf(refused.body), 'de')
  t.match(textOf(refused.body), 'Nicht erlaubt')

  const speaker = await addAdmin(ctx, { roles: ['ops'] })
  const byBrowser = await getIn(ctx, await adminBrowser(ctx, speaker), '/admin', 'es-ES, es;q=0.9')
  t.equal(byBrowser.statusCode, 403)
  t.equal(langOf(byBrowser.body), 'es', 'no saved language: the browser’s')
  t.match(textOf(byBrowser.body), 'No permitido')
})

t.test('no saved language: the browser’s; a saved one wins over it', async (t) => {
  const ctx = await consoleApp(t)
  const admin = await addAdmin(ctx)
  const browser = await adminBrowser(ctx, admin)
  const { client } = await ctx.addClient({ name: 'Web app' })
  const href = `/admin/clients/${client.id}`

  const english = await browser.get(href)
  t.equal(langOf(english.body), 'en', 'no preference at all: English')
  t.match(textOf(english.body), 'Change settings')

  const french = await getIn(ctx, browser, href, 'fr-CA, fr;q=0.9, en;q=0.5')
  t.equal(french.statusCode, 200)
  t.equal(langOf(french.body), 'fr')
  t.match(textOf(french.body), 'Modifier les paramètres')
  t.match(french.body, '<option value="3600">Garder l’ancien secret pendant 1 heure</option>', 'the overlap, a plural')
  t.match(french.body, '<option value="604800">Garder l’ancien secret pendant 7 jours</option>')
  t.match(textOf(french.body), 'Confidentiel (secret client)')
  t.match(textOf(french.body), 'Par un opérateur, ', 'how it was registered, then when')

  await ctx.deps.repos.users.setLocale(admin.id, 'es', ctx.clock.now())
  const spanish = await getIn(ctx, browser, href, 'fr')
  t.equal(langOf(spanish.body), 'es', 'the saved language wins over the browser’s')
  t.match(textOf(spanish.body), 'Cambiar la configuración')

  // A problem from the registration rules: the rule's reason and the page's label, in the admin's words.
  await ctx.deps.repos.users.setLocale(admin.id, 'fr', ctx.clock.now())
  const settings = (changes: Record<string, string>) =>
    submitOn(browser, href, `${href}/settings`, {
      settings: '1',
      name: 'Web app',
      redirect_uris: 'https://app.example/cb',
      scopes: '',
      ...changes,
    })
  const bad = await settings({ redirect_uris: 'http://evil.example/cb' })
  t.equal(bad.statusCode, 422)
  t.equal(langOf(bad.body), 'fr')
  t.match(
    textOf(bad.body),
    'URI de redirection : doit utiliser https (http uniquement pour 127.0.0.1, [::1] ou localhost) (http://evil.example/cb). Rien n’a été modifié.',
  )
  // Values the rule names go into the translated words.
  await ctx.deps.repos.users.setLocale(admin.id, 'de', ctx.clock.now())
  const uppercase = await settings({ redirect_uris: 'https://APP.example/cb' })
  t.equal(uppercase.statusCode, 422)
  t.match(
    textOf(uppercase.body),
    'Weiterleitungs-URIs: muss in kanonischer Form geschrieben sein (https://app.example/…) (https://APP.example/cb). Es wurde nichts geändert.',
  )
  const logo = await settings({ logo_uri: 'ftp://app.example/logo.png' })
  t.match(textOf(logo.body), 'Logo-URL: muss eine https-URL sein (höchstens 2000 Zeichen) (ftp://app.example/logo.png).')
  await ctx.deps.repos.users.setLocale(admin.id, 'es', ctx.clock.now())
  const script = await settings({ redirect_uris: 'javascript:alert(1)' })
  t.match(textOf(script.body), 'no debe usar el esquema javascript: (javascript:alert(1)). No se ha cambiado nada.')
  await ctx.deps.repos.users.setLocale(admin.id, 'fr', ctx.clock.now())

  const rotated = await submitOn(browser, href, `${href}/secret`, { overlap: '3600' })
  t.equal(rotated.statusCode, 200)
  t.equal(headingOf(rotated.body), 'Nouveau secret client')
  t.match(textOf(rotated.body), /Le secret précédent fonctionne encore jusqu’au .+ \(dans 1 heure\)\./)
})
