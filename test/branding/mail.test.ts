/**
 * Mails carry the same brand as the pages, in both parts: the name (subject line's sender, body,
 * signature), the logo as an absolute URL on our origin, the accent colour on the button and the
 * help, privacy and terms links. Read from a real SMTP server, as sent.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { CookieJar, forgotPassword } from '../helpers/client.js'
import { mailedApp } from '../helpers/smtp.js'
import { tempDir } from '../helpers/test-app.js'
import { createMailComposer } from '../../src/mail/compose.js'
import { resetPasswordMail } from '../../src/accounts/mails.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('mail logo')])

t.test('a password-reset mail carries the brand in its text and HTML parts', async (t) => {
  const dir = tempDir('tessera-brand-mail-')
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'logo.png'), PNG)
  const { ctx, smtp } = await mailedApp(t, {
    env: {
      BRAND_NAME: 'Acme & Sons',
      BRAND_LOGO_FILE: path.join(dir, 'logo.png'),
      BRAND_COLOR: '#0f766e',
      BRAND_SUPPORT_URL: 'https://help.acme.example/',
      BRAND_PRIVACY_URL: 'https://acme.example/privacy',
      BRAND_TERMS_URL: 'https://acme.example/terms',
    },
  })
  const user = await ctx.addUser()
  t.equal((await forgotPassword(ctx, new CookieJar(), user.email)).statusCode, 200)
  const mail = await smtp.waitFor((m) => m.to === user.email)

  t.equal(mail.subject, 'Reset your password', 'the subject is the plain words (the sender’s display name is the brand)')
  t.match(mail.text, /\n\n— Acme & Sons\n/, 'the text part is signed with the brand')
  t.match(mail.text, 'Help: https://help.acme.example/\nPrivacy: https://acme.example/privacy\nTerms: https://acme.example/terms')
  t.notMatch(mail.text, 'Tessera')

  t.match(mail.html, '<p style="font-weight: 600;">Acme &amp; Sons</p>', 'the HTML part names the brand (escaped)')
  t.match(mail.html, '— Acme &amp; Sons')
  const logo = `${ctx.issuer}${ctx.deps.config.brand.logoUrl!}`
  t.match(mail.html, `<img src="${logo}"`, 'the logo as an absolute URL on our origin')
  t.match(mail.html, 'background: #0f766e; color: #ffffff;', 'the button in the brand colour')
  for (const url of ['https://help.acme.example/', 'https://acme.example/privacy', 'https://acme.example/terms'])
    t.match(mail.html, `<a href="${url}"`, url)
  t.notMatch(mail.html, 'Tessera')

  const served = await ctx.app.inject({ method: 'GET', url: ctx.deps.config.brand.logoUrl! })
  t.equal(served.statusCode, 200, 'the mailed logo URL is served')
})

t.test('the default brand is Tessera', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const user = await ctx.addUser()
  await forgotPassword(ctx, new CookieJar(), user.email)
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.equal(mail.subject, 'Reset your password')
  t.match(mail.text, /\n\n— Tessera\n$/)
  t.match(mail.html, 'background: #1d4ed8;', 'the built-in button colour')
  t.notMatch(mail.html, '<img', 'no logo')
  t.notMatch(mail.text, 'Privacy:', 'no links')

  const bare = createMailComposer()(
    'ada@example.com',
    resetPasswordMail(ctx.deps.i18n.translator('en'), 'Ada', 'https://idp.example/reset?token=t', 1800),
  )
  t.equal(bare.subject, 'Reset your password')
})

t.test('THEME_DIR may replace mail.eta; the text part keeps the brand', async (t) => {
  const theme = tempDir('tessera-brand-theme-')
  t.teardown(() => fs.rmSync(theme, { recursive: true, force: true }))
  fs.writeFileSync(path.join(theme, 'mail.eta'), '<div class="themed"><%= it.brand.name %> | <%= it.subject %></div>')
  const { ctx, smtp } = await mailedApp(t, { env: { THEME_DIR: theme, BRAND_NAME: 'Acme <Accounts>' } })
  const user = await ctx.addUser()
  await forgotPassword(ctx, new CookieJar(), user.email)
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.match(mail.html, '<div class="themed">Acme &lt;Accounts&gt; | Reset your password</div>', 'the theme mail template, escaped')
  t.match(mail.text, '— Acme <Accounts>')
  t.equal(mail.subject, 'Reset your password')
})
