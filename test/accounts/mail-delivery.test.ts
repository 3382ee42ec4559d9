/**
 * How account mail leaves Tessera: through SMTP_URL (a real SMTP server on loopback, with AUTH and
 * temporary refusals), retried, never blocking or failing the request that caused it, logged on
 * failure without its single-use link; without SMTP_URL written to the log in development only.
 */
import t from 'tap'
import net from 'node:net'
import type { Logger } from 'pino'
import type { Deps } from '../../src/deps.js'
import { createLogger } from '../../src/logger.js'
import { CookieJar, forgotPassword, getPage, signUp } from '../helpers/client.js'
import { freePort } from '../helpers/free-port.js'
import { mailedApp, mailedPath, startSmtpSink } from '../helpers/smtp.js'
import { createTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app.js'

const PASSWORD = 'a long and unusual passphrase'

/** A test app with its own mail settings (no SMTP sink of ours), closed by the test's teardown. */
async function appWith(t: { teardown(fn: () => unknown): void }, options: TestAppOptions): Promise<TestApp> {
  const ctx = await createTestApp(options)
  t.teardown(() => ctx.close())
  return ctx
}

interface CapturedLog {
  /** Tessera's production logger (createLogger, with its redaction), writing into memory. */
  readonly logger: Logger
  /** Every line written so far, parsed. */
  entries(): Record<string, unknown>[]
  /** Every line written so far, as written. */
  text(): string
}

function captureLog(level: 'info' | 'warn' = 'info'): CapturedLog {
  const raw: string[] = []
  const logger = createLogger({ logLevel: level }, { write: (line: string) => void raw.push(line) })
  return {
    logger,
    entries: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => raw.join(''),
  }
}

const signUpAt = (ctx: TestApp, email: string) => signUp(ctx, new CookieJar(), { name: 'Mail Tester', email, password: PASSWORD })
const forgotAt = (ctx: TestApp, email: string) => forgotPassword(ctx, new CookieJar(), email)
const events = (log: CapturedLog, event: string) => log.entries().filter((entry) => entry['event'] === event)

/**
 * Waits (bounded) until the outbox has delivered or given up everything. The outbox's retry timers
 * are unref'd (they must not keep a stopping server alive), so the wait holds the event loop open.
 */
async function mailSettled(ctx: { readonly deps: Pick<Deps, 'mail'> }, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`mail still queued after ${ms} ms`)), ms)))
  try {
    await Promise.race([ctx.deps.mail.idle(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

t.test('temporary refusals are retried until the mail is accepted', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { smtp: { failFirst: 2 }, mailRetry: { maxAttempts: 4 } })
  const user = await ctx.addUser()
  const response = await forgotPassword(ctx, new CookieJar(), user.email)
  t.equal(response.statusCode, 200)
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.equal(smtp.refused(), 2, 'accepted on the third attempt, after two 451 refusals')
  t.equal(mail.subject, 'Reset your password')
  await mailSettled(ctx)
  t.equal(smtp.to(user.email).length, 1, 'delivered once')

  // Each attempt issues a fresh link (voiding the undelivered ones): the delivered one works.
  const jar = new CookieJar()
  t.equal((await getPage(ctx, jar, mailedPath(ctx, mail, '/reset-password'))).statusCode, 303)
  t.equal((await getPage(ctx, jar, '/reset-password')).statusCode, 200, 'the retried mail carries a live link')
})

t.test('SMTP AUTH with URL-encoded credentials in SMTP_URL', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { smtp: { auth: { user: 'mailer', pass: 'p@ss:word' } } })
  t.match(smtp.url, /^smtp:\/\/mailer:p%40ss%3Aword@127\.0\.0\.1:\d+$/, 'the password is percent-encoded in SMTP_URL')
  const user = await ctx.addUser()
  t.equal((await forgotPassword(ctx, new CookieJar(), user.email)).statusCode, 200)
  const mail = await smtp.waitFor((m) => m.to === user.email)
  t.equal(mail.subject, 'Reset your password', 'delivered after authenticating as mailer with p@ss:word')
})

t.test('wrong SMTP credentials: no mail, and the request still answers 200', async (t) => {
  const smtp = await startSmtpSink({ auth: { user: 'mailer', pass: 'p@ss:word' } })
  t.teardown(() => smtp.close())
  const wrongUrl = smtp.url.replace('p%40ss%3Aword', 'wrong')
  t.not(wrongUrl, smtp.url, 'the URL was really changed')
  const log = captureLog()
  const env = { SMTP_URL: wrongUrl, MAIL_FROM: 'idp@example.com' }
  const ctx = await appWith(t, { env, overrides: { log: log.logger }, mailRetry: { maxAttempts: 2 } })
  const user = await ctx.addUser()
  const response = await forgotAt(ctx, user.email)
  t.equal(response.statusCode, 200)
  t.match(response.body, /Check your email/)
  await mailSettled(ctx)
  t.same(smtp.messages, [], 'the server took no mail')
  const failed = events(log, 'mail_failed')
  t.equal(failed.length, 1, 'the delivery failed')
  t.match(
    failed[0],
    { kind: 'password_reset', to: user.email, attempts: 1, reason: /auth|535|credentials/i },
    'because authentication was refused',
  )
  t.equal(events(log, 'mail_retry').length, 0, 'a permanent (5xx) refusal is not retried')
})

t.test('an unreachable mail server never blocks or fails the request; the failure is logged without the link', async (t) => {
  const port = await freePort()
  const log = captureLog()
  const env = { SMTP_URL: `smtp://127.0.0.1:${port}` }
  const ctx = await appWith(t, { env, overrides: { log: log.logger }, mailRetry: { maxAttempts: 4 } })
  const user = await ctx.addUser()

  const started = Date.now()
  const signup = await signUpAt(ctx, 'newcomer@example.com')
  const forgot = await forgotAt(ctx, user.email)
  const elapsed = Date.now() - started
  t.equal(signup.statusCode, 200)
  t.match(signup.body, /Check your email/)
  t.equal(forgot.statusCode, 200)
  t.match(forgot.body, /Check your email/)
  t.ok(elapsed < 5_000, `both answered in ${elapsed} ms, well under the 10 s connection timeout`)

  await mailSettled(ctx)
  const failed = events(log, 'mail_failed')
  t.match(
    failed
      .map((entry) => ({ kind: entry['kind'], to: entry['to'], attempts: entry['attempts'] }))
      .sort((a, b) => String(a.kind).localeCompare(String(b.kind))),
    [
      { kind: 'password_reset', to: user.email, attempts: 4 },
      { kind: 'verify_email', to: 'newcomer@example.com', attempts: 4 },
    ],
    'each mail is logged as failed after its 3 retries',
  )
  t.equal(events(log, 'mail_retry').length, 6, 'and each retry was logged')
  for (const entry of failed)
    t.notOk(JSON.stringify(entry).includes('token='), `the ${String(entry['kind'])} failure does not hold the link`)
  t.notOk(log.text().includes('token='), 'no link anywhere in the log')
})

t.test('a mail server that accepts connections but never answers does not hold up the request', async (t) => {
  const sockets = new Set<net.Socket>()
  const silent = net.createServer((socket) => void sockets.add(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const { port } = silent.address() as net.AddressInfo
  const stopSilent = () => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => silent.close(() => resolve()))
  }
  t.teardown(stopSilent)
  const ctx = await appWith(t, { env: { SMTP_URL: `smtp://127.0.0.1:${port}` }, mailRetry: { maxAttempts: 2 } })
  const user = await ctx.addUser()

  const forgot = await forgotAt(ctx, user.email)
  t.equal(forgot.statusCode, 200)
  const state = await Promise.race([
    ctx.deps.mail.idle().then(() => 'delivered or given up'),
    new Promise((resolve) => setTimeout(() => resolve('still sending'), 300)),
  ])
  t.equal(state, 'still sending', 'the response came back while the delivery was still waiting for the server')
  t.ok(sockets.size >= 1, 'Tessera did connect to the mail server')
  await stopSilent()
  await mailSettled(ctx)
})

t.test('without SMTP_URL in development the mail, with its link, goes to the log', async (t) => {
  const log = captureLog()
  const ctx = await appWith(t, { overrides: { log: log.logger } })
  t.equal((await signUpAt(ctx, 'dev@example.com')).statusCode, 200)
  await mailSettled(ctx)
  const logged = events(log, 'mail_logged')
  t.equal(logged.length, 1)
  t.match(logged[0], { to: 'dev@example.com', subject: 'Confirm your email address' })
  const link = /http:\/\/localhost:3000(\/verify-email\?token=[A-Za-z0-9_-]+)/.exec(String(logged[0]!['msg']))
  t.ok(link, 'the message holds the verification link')
  const visit = await ctx.app.inject({ method: 'GET', url: link![1]!, headers: { accept: 'text/html' } })
  t.equal(visit.headers.location, '/verify-email?status=verified', 'and the logged link works')
})

t.test('without SMTP_URL in production nothing of the mail is logged', async (t) => {
  const log = captureLog()
  const ctx = await appWith(t, { env: { NODE_ENV: 'production' }, overrides: { log: log.logger } })
  const user = await ctx.addUser()
  t.equal((await signUpAt(ctx, 'prod@example.com')).statusCode, 200)
  t.equal((await forgotAt(ctx, user.email)).statusCode, 200)
  await mailSettled(ctx)
  t.same(
    events(log, 'mail_dropped')
      .map((entry) => entry['subject'])
      .sort(),
    ['Confirm your email address', 'Reset your password'],
    'each mail is reported as dropped',
  )
  t.same(events(log, 'mail_logged'), [], 'none is written out')
  t.notOk(log.text().includes('token='), 'no link in the log')
})

t.test('mails have a plain-text and an HTML body; the HTML escapes what users typed', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const name = 'Eve <b>& Co'
  const email = 'eve@example.com'
  t.equal((await signUp(ctx, new CookieJar(), { name, email, password: PASSWORD })).statusCode, 200)
  const mail = await smtp.waitFor((m) => m.to === email)
  const link = `${ctx.issuer}${mailedPath(ctx, mail, '/verify-email')}`
  t.match(mail.text, `Hello ${name},`, 'the text body has the name as typed')
  t.match(mail.text, link, 'and the link')
  t.match(mail.html, 'Hello Eve &lt;b&gt;&amp; Co,', 'the HTML body escapes it')
  t.notOk(mail.html.includes('<b>&'), 'the name is not markup')
  t.match(mail.html, `<a href="${link}"`, 'the HTML links to the same address')
})
