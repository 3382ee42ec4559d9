import t from 'tap'
import { createMailComposer } from '../../../src/mail/compose.js'
import { passwordChangedMail, resetPasswordMail, signupAttemptMail, verifyEmailMail } from '../../../src/accounts/mails.js'
import { readCatalogues } from '../../../src/i18n/catalogue.js'
import { createI18n } from '../../../src/i18n/translator.js'

const compose = createMailComposer()
const i18n = createI18n(readCatalogues(), 'en')
const en = i18n.translator('en')

t.test('text and HTML bodies; the HTML escapes everything user-controlled', async (t) => {
  const link = 'https://idp.example/reset-password?token=abc&x=1'
  const mail = compose('ada@example.com', resetPasswordMail(en, '<img src=x onerror=alert(1)> & Co', link, 1800))
  t.equal(mail.to, 'ada@example.com')
  t.equal(mail.subject, 'Reset your password')
  t.match(mail.text, 'Hello <img src=x onerror=alert(1)> & Co,', 'the text body is plain text, unescaped')
  t.match(mail.text, `Choose a new password: ${link}`)
  t.match(mail.text, /expires in 30 minutes/)
  t.notMatch(mail.html, /<img/, 'no markup from the name reaches the HTML')
  t.match(mail.html, '&lt;img src=x onerror=alert(1)&gt; &amp; Co')
  t.match(mail.html, 'href="https://idp.example/reset-password?token=abc&amp;x=1"', 'the link is attribute-escaped')
})

t.test('every account mail has a subject, a greeting and one link', async (t) => {
  const contents = [
    verifyEmailMail(en, null, 'https://idp.example/verify-email?token=t', 86400),
    signupAttemptMail(en, 'Ada', 'https://idp.example/forgot-password'),
    resetPasswordMail(en, null, 'https://idp.example/reset-password?token=t', 600),
    passwordChangedMail(en, 'Ada', 'reset', 'https://idp.example/forgot-password'),
    passwordChangedMail(en, 'Ada', 'changed', 'https://idp.example/forgot-password'),
  ]
  for (const content of contents) {
    const mail = compose('x@example.com', content)
    t.ok(mail.subject.length > 0)
    t.match(mail.text, /^Hello/)
    t.match(mail.html, content.action!.url.replace(/&/g, '&amp;'))
  }
  t.match(compose('x@example.com', contents[0]!).text, /expires in 24 hours/)
  t.match(compose('x@example.com', contents[3]!).text, /signed out everywhere/)
  t.match(compose('x@example.com', contents[4]!).text, /other sessions were signed out/)
})

t.test('the words around the content are in its language: signature, link labels, copy hint, <html lang>', async (t) => {
  const branded = createMailComposer({
    name: 'Acme',
    logoAbsoluteUrl: null,
    color: null,
    links: [
      { kind: 'support', label: 'Help', url: 'https://acme.example/help' },
      { kind: 'terms', label: 'Terms', url: 'https://acme.example/terms' },
    ],
  })
  const link = 'https://idp.example/reset-password?token=t'
  const english = branded('ada@example.com', resetPasswordMail(en, 'Ada', link, 1800))
  t.match(english.text, '\n\n— Acme\n\nHelp: https://acme.example/help\nTerms: https://acme.example/terms\n')
  t.match(english.html, '<html lang="en">')
  t.match(english.html, `Or copy this address into your browser: ${link}`)

  const german = branded('ada@example.com', resetPasswordMail(i18n.translator('de'), 'Ada', link, 1800))
  t.equal(german.subject, 'Passwort zurücksetzen')
  t.match(german.text, /^Guten Tag Ada,\n\n/)
  t.match(german.text, 'läuft in 30 Minuten ab')
  t.match(german.text, `Neues Passwort wählen: ${link}`)
  t.match(german.text, 'Hilfe: https://acme.example/help\nNutzungsbedingungen: https://acme.example/terms')
  t.match(german.html, '<html lang="de">')
  t.match(german.html, `Oder kopieren Sie diese Adresse in Ihren Browser: ${link}`)
  t.match(german.html, '>Hilfe</a> · <a href="https://acme.example/terms"')
  t.notMatch(german.html, /Help|Terms|Or copy/)
})

t.test('lifetimes are counted with plurals in each language', async (t) => {
  const link = 'https://idp.example/verify-email?token=t'
  const text = (locale: 'en' | 'de' | 'fr' | 'es', ttl: number) =>
    compose('x@example.com', verifyEmailMail(i18n.translator(locale), null, link, ttl)).text
  t.match(text('en', 86400), 'expires in 24 hours')
  t.match(text('en', 3600), 'expires in 60 minutes', 'under two hours, in minutes')
  t.match(text('en', 60), 'expires in 1 minute.')
  t.match(text('de', 86400), 'läuft in 24 Stunden ab')
  t.match(text('fr', 86400), 'expire dans 24 heures')
  t.match(text('fr', 1800), 'expire dans 30 minutes')
  t.match(text('es', 86400), 'caduca en 24 horas')
  t.match(text('es', 60), 'caduca en 1 minuto.')
})
