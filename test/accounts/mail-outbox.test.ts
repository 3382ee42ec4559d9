/**
 * Account mail is durable: queuing a mail stores an outbox row (what to build, never a link or a
 * token), so a mail whose SMTP server was down is still delivered after the process restarts — by
 * the next process on the same database, which issues the link when it sends the mail.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { CookieJar, forgotPassword, getPage } from '../helpers/client.js'
import { FakeClock } from '../helpers/clock.js'
import { suiteDatabase } from '../helpers/databases.js'
import { freePort } from '../helpers/free-port.js'
import { linkIn, mailedPath, startSmtpSink } from '../helpers/smtp.js'
import { createTestApp, tempDir } from '../helpers/test-app.js'

t.test('mail queued while the SMTP server is down is delivered after a restart', async (t) => {
  const dir = tempDir('tessera-mail-')
  const database = await suiteDatabase(dir)
  t.teardown(async () => {
    await database.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const clock = new FakeClock()
  const env = { DATABASE_URL: database.url, KEYS_DIR: path.join(dir, 'keys'), MAIL_FROM: 'idp@example.com' }
  // A minute between attempts: the first process stops long before its retry.
  const mailRetry = { firstDelaySeconds: 60, maxDelaySeconds: 600, maxAttempts: 12 }

  const first = await createTestApp({ clock, env: { ...env, SMTP_URL: `smtp://127.0.0.1:${await freePort()}` }, mailRetry })
  const user = await first.addUser()
  t.equal((await forgotPassword(first, new CookieJar(), user.email)).statusCode, 200)
  await first.deps.mail.idle()
  const [queued] = await first.deps.store.db.selectFrom('outbox').selectAll().where('kind', '=', 'mail').execute()
  t.match(queued, { attempts: 1, delivered_at: null, failed_at: null, last_error: /ECONNREFUSED|connect/i }, 'the first attempt failed')
  t.same(
    JSON.parse(queued!.payload),
    { template: 'password_reset', email: user.email, locale: 'en' },
    'the row says what to build (and the page’s language), nothing more',
  )
  await first.close()

  const smtp = await startSmtpSink()
  t.teardown(() => smtp.close())
  clock.advance(60)
  const second = await createTestApp({ clock, env: { ...env, SMTP_URL: smtp.url }, mailRetry })
  t.teardown(() => second.close())
  second.deps.outbox.start()
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.equal(mail.subject, 'Reset your password', 'delivered by the process started after the outage')
  await second.deps.mail.idle()

  const token = new URL(linkIn(mail, `${second.issuer}/reset-password`)).searchParams.get('token')!
  const [sent] = await second.deps.store.db.selectFrom('outbox').selectAll().where('kind', '=', 'mail').execute()
  t.match(sent, { attempts: 2, failed_at: null, last_error: null })
  t.ok(sent!.delivered_at !== null, 'marked delivered')
  t.notOk(JSON.stringify(sent).includes(token), 'the link’s token never sat in the outbox')
  const jar = new CookieJar()
  t.equal((await getPage(second, jar, mailedPath(second, mail, '/reset-password'))).statusCode, 303)
  t.equal((await getPage(second, jar, '/reset-password')).statusCode, 200, 'and its link works')
})
