import t from 'tap'
import { createMailComposer } from '../../../src/mail/compose.js'
import { passwordChangedMail, resetPasswordMail, signupAttemptMail, verifyEmailMail } from '../../../src/accounts/mails.js'

const compose = createMailComposer()

t.test('text and HTML bodies; the HTML escapes everything user-controlled', async (t) => {
  const link = 'https://idp.example/reset-password?token=abc&x=1'
  const mail = compose('ada@example.com', resetPasswordMail('<img src=x onerror=alert(1)> & Co', link, 1800))
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
    verifyEmailMail(null, 'https://idp.example/verify-email?token=t', 86400),
    signupAttemptMail('Ada', 'https://idp.example/forgot-password'),
    resetPasswordMail(null, 'https://idp.example/reset-password?token=t', 600),
    passwordChangedMail('Ada', 'reset', 'https://idp.example/forgot-password'),
    passwordChangedMail('Ada', 'changed', 'https://idp.example/forgot-password'),
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
