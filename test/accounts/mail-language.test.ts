/**
 * Account mails are written in their recipient's language: the one the user chose, else the one
 * the job carries (the page's, or a deleted user's choice), else DEFAULT_LOCALE — every word of
 * both parts, the brand's link labels and `<html lang>` included. Outbox rows outlive code
 * versions: a row without a language, or naming one this version does not ship, is still
 * delivered. Read from a real SMTP server, as sent.
 */
import t from 'tap'
import { signUp as signUpService } from '../../src/accounts/signup.js'
import { Browser, CookieJar, forgotPassword, getPage } from '../helpers/client.js'
import { mailedApp, mailedPath } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

const PASSWORD = 'a long and unusual passphrase'

const choose = (ctx: TestApp, userId: string, locale: string) => ctx.deps.repos.users.setLocale(userId, locale, ctx.clock.now())

/** The outbox row of the first mail job with this template, as stored. */
async function storedJob(ctx: TestApp, template: string): Promise<unknown> {
  await ctx.deps.mail.idle()
  const rows = await ctx.deps.store.db.selectFrom('outbox').select('payload').where('kind', '=', 'mail').execute()
  return rows.map((row) => JSON.parse(row.payload) as { template?: string }).find((job) => job.template === template)
}

t.test('a user who chose German gets the reset mail in German, in both parts', async (t) => {
  const { ctx, smtp } = await mailedApp(t, {
    env: { BRAND_SUPPORT_URL: 'https://help.example/', BRAND_TERMS_URL: 'https://terms.example/' },
  })
  const user = await ctx.addUser({ name: 'Ada Lovelace' })
  await choose(ctx, user.id, 'de')
  t.equal((await forgotPassword(ctx, new CookieJar(), user.email)).statusCode, 200)
  const mail = await smtp.waitFor((m) => m.to === user.email)

  t.equal(mail.subject, 'Passwort zurücksetzen')
  t.match(mail.text, /^Guten Tag Ada Lovelace,\n\n/)
  t.match(mail.text, 'Jemand hat angefordert, das Passwort Ihres Kontos zurückzusetzen.')
  t.match(mail.text, 'Der Link funktioniert nur einmal und läuft in 30 Minuten ab.')
  t.match(mail.text, `Neues Passwort wählen: ${ctx.issuer}/reset-password?token=`)
  t.match(mail.text, '\n\n— Tessera\n\nHilfe: https://help.example/\nNutzungsbedingungen: https://terms.example/\n')
  t.notMatch(mail.text, /Hello|Reset your password|expires|Help:|Terms:/, 'no English left in the text part')

  t.match(mail.html, '<html lang="de">')
  t.match(mail.html, '<title>Passwort zurücksetzen</title>')
  t.match(mail.html, 'Guten Tag Ada Lovelace,')
  t.match(mail.html, '>Neues Passwort wählen</a>')
  t.match(mail.html, 'Oder kopieren Sie diese Adresse in Ihren Browser: ')
  t.match(mail.html, '>Hilfe</a>')
  t.match(mail.html, '>Nutzungsbedingungen</a>')
  t.notMatch(mail.html, /Hello|Reset your password|Or copy|>Help<|>Terms</, 'no English left in the HTML part')

  const jar = new CookieJar()
  t.equal((await getPage(ctx, jar, mailedPath(ctx, mail, '/reset-password'))).statusCode, 303, 'the German mail’s link works')
})

t.test('signing up in Spanish saves the choice: the verification mail is in Spanish', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const email = 'nueva@example.com'
  t.same(await signUpService(ctx.deps, { name: 'Ana', email, password: PASSWORD, locale: 'es' }), { ok: true })
  t.equal((await ctx.deps.repos.users.findByEmail(email))?.locale, 'es', 'the new user’s language is saved')
  const mail = await smtp.waitFor((m) => m.to === email)
  t.equal(mail.subject, 'Confirme su dirección de correo electrónico')
  t.match(mail.text, /^Hola, Ana:\n\n/)
  t.match(mail.text, 'El enlace solo funciona una vez y caduca en 24 horas.')
  t.match(mail.text, `Confirmar dirección de correo: ${ctx.issuer}/verify-email?token=`)
  t.match(mail.html, '<html lang="es">')
  t.match(mail.html, 'O copie esta dirección en su navegador: ')
  t.notMatch(mail.html, /Hello|Confirm your email|Or copy/)
})

t.test('a signup attempt on a taken address: the owner’s choice first, else the page’s language', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const german = await ctx.addUser({ name: 'Greta' })
  await choose(ctx, german.id, 'de')
  const undecided = await ctx.addUser({ name: 'Jean' })
  await signUpService(ctx.deps, { name: 'Someone', email: german.email, password: PASSWORD, locale: 'fr' })
  await signUpService(ctx.deps, { name: 'Someone', email: undecided.email, password: PASSWORD, locale: 'fr' })

  const toGerman = await smtp.waitFor((m) => m.to === german.email)
  t.equal(toGerman.subject, 'Jemand hat versucht, sich mit Ihrer Adresse zu registrieren', 'the owner chose German')
  t.match(toGerman.text, /^Guten Tag Greta,/)
  const toUndecided = await smtp.waitFor((m) => m.to === undecided.email)
  t.equal(toUndecided.subject, 'Quelqu’un a tenté de s’inscrire avec votre adresse', 'no choice: the signup page’s language')
  t.match(toUndecided.text, /^Bonjour Jean,/)
  t.match(toUndecided.html, '<html lang="fr">')
})

t.test('without a choice, DEFAULT_LOCALE; a saved choice still wins over it', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: { DEFAULT_LOCALE: 'fr' } })
  const undecided = await ctx.addUser({ name: 'Marie' })
  const english = await ctx.addUser({ name: 'Alan' })
  await choose(ctx, english.id, 'en')
  await forgotPassword(ctx, new CookieJar(), undecided.email)
  await forgotPassword(ctx, new CookieJar(), english.email)

  const french = await smtp.waitFor((m) => m.to === undecided.email)
  t.equal(french.subject, 'Réinitialisez votre mot de passe')
  t.match(french.text, /^Bonjour Marie,\n\n/)
  t.match(french.text, 'Le lien ne fonctionne qu’une fois et expire dans 30 minutes.')
  t.match(french.text, `Choisir un nouveau mot de passe: ${ctx.issuer}/reset-password?token=`)
  t.match(french.html, '<html lang="fr">')
  t.match(french.html, 'Ou copiez cette adresse dans votre navigateur : ')

  const kept = await smtp.waitFor((m) => m.to === english.email)
  t.equal(kept.subject, 'Reset your password', 'the user chose English')
  t.match(kept.text, /^Hello Alan,\n\n/)
  t.match(kept.html, '<html lang="en">')
})

t.test('old outbox rows without a language, and rows naming an unknown one, are delivered', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: { DEFAULT_LOCALE: 'de' } })
  const old = await ctx.addUser({ name: 'Otto' })
  const newer = await ctx.addUser({ name: 'Nina' })
  const spanish = await ctx.addUser({ name: 'Sofía' })
  // As an older version stored them (no locale), and as a newer one might (a language not shipped here).
  await ctx.deps.outbox.enqueue('mail', [
    { template: 'password_changed', userId: old.id, how: 'changed' },
    { template: 'password_changed', userId: newer.id, how: 'changed', locale: 'pt' },
    { template: 'password_changed', userId: spanish.id, how: 'changed', locale: 'es' },
    { template: 'account_deleted', email: 'gone@example.com' },
  ])

  for (const user of [old, newer]) {
    const mail = await smtp.waitFor((m) => m.to === user.email)
    t.equal(mail.subject, 'Ihr Passwort wurde geändert', `${user.name}: delivered, in DEFAULT_LOCALE`)
    t.match(mail.text, 'Ihre anderen Sitzungen wurden beendet.')
  }
  const fromJob = await smtp.waitFor((m) => m.to === spanish.email)
  t.equal(fromJob.subject, 'Se ha cambiado su contraseña', 'no choice saved: the job’s language')
  const gone = await smtp.waitFor((m) => m.to === 'gone@example.com')
  t.equal(gone.subject, 'Ihr Konto wurde gelöscht')
  t.match(gone.text, `Ihr Konto bei ${new URL(ctx.issuer).host} wurde auf Ihren Wunsch`)
  await ctx.deps.mail.idle()
  const pending = await ctx.deps.store.db
    .selectFrom('outbox')
    .select('id')
    .where('kind', '=', 'mail')
    .where('delivered_at', 'is', null)
    .execute()
  t.same(pending, [], 'every row delivered, none refused')
})

t.test('a user who chose French and deletes the account gets the confirmation in French', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const user = await ctx.addUser({ name: 'Claire' })
  await choose(ctx, user.id, 'fr')
  const browser = new Browser(ctx)
  t.equal((await browser.login(user.email, user.password)).statusCode, 303)
  const done = await browser.submit('/account/delete', '/account/delete', { password: user.password, confirm: 'yes' })
  t.equal(done.statusCode, 200)
  t.notOk(await ctx.deps.repos.users.findById(user.id), 'the account is gone')

  t.same(
    await storedJob(ctx, 'account_deleted'),
    { template: 'account_deleted', email: user.email, locale: 'fr' },
    'the job keeps the language',
  )
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.equal(mail.subject, 'Votre compte a été supprimé')
  t.match(mail.text, /^Bonjour,\n\n/)
  t.match(mail.text, 'a été supprimé à votre demande, ainsi que ses données.')
  t.match(mail.html, '<html lang="fr">')
})
