import t from 'tap'
import { CookieJar } from '../helpers/browser-flow.js'
import { signIn } from '../lifecycle/support.js'
import { getPage, mailedApp, mailedPath, signUp } from './support.js'

t.test('signup → verification mail → link → email_verified true in userinfo and ID token', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const jar = new CookieJar()
  const email = 'new.person@example.com'
  const response = await signUp(ctx, jar, { name: 'New Person', email, password: 'a long and unusual passphrase' })
  t.equal(response.statusCode, 200)
  t.match(response.body, /Check your email/)
  const mail = await smtp.waitFor((m) => m.to === email && /Confirm your email/.test(m.subject))
  t.equal(mail.from, 'idp@example.com', 'sent from MAIL_FROM')
  t.match(mail.html, /<a href="http:\/\/localhost:3000\/verify-email\?token=/, 'the HTML body links to the issuer')

  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp = { client, secret }
  const user = { id: '', email, password: 'a long and unusual passphrase', name: 'New Person' }
  const before = await signIn(ctx, rp, user, { scope: 'openid email' })
  const info = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${before.tokens.access_token}` } })
  t.equal(info.json().email_verified, false, 'not verified before the link is used')

  const path = mailedPath(ctx, mail, '/verify-email')
  const visit = await getPage(ctx, new CookieJar(), path)
  t.equal(visit.statusCode, 303)
  t.equal(visit.headers.location, '/verify-email?status=verified', 'the token leaves the URL')
  const again = await getPage(ctx, new CookieJar(), path)
  t.equal(again.headers.location, '/verify-email?status=invalid', 'the link works once')

  const after = await signIn(ctx, rp, user, { scope: 'openid email' })
  const info2 = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${after.tokens.access_token}` } })
  t.equal(info2.json().email_verified, true)
})
