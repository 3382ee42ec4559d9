/**
 * A real SMTP server on a loopback port (the `smtp-server` package) that keeps every message it
 * receives, parsed with `mailparser`, so tests read the mails Tessera actually sent; and a test
 * app whose SMTP_URL points at one.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { createTestApp, type TestApp, type TestAppOptions } from './test-app.js'

export interface ReceivedMail {
  readonly to: string
  readonly from: string
  readonly subject: string
  readonly text: string
  readonly html: string
}

export interface SmtpSinkOptions {
  /** Refuse this many deliveries (451, temporary) before accepting: exercises retries. */
  readonly failFirst?: number
  /** Require AUTH with these credentials. */
  readonly auth?: { readonly user: string; readonly pass: string }
}

export interface SmtpSink {
  /** smtp://[user:pass@]127.0.0.1:PORT, for SMTP_URL. */
  readonly url: string
  readonly messages: ReceivedMail[]
  /** Number of refused delivery attempts so far. */
  readonly refused: () => number
  /** The first message (already received or arriving within the timeout) matching the filter. */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>
  /** Messages sent to this address, oldest first. */
  to(address: string): ReceivedMail[]
  close(): Promise<void>
}

/** The first link in the mail's text body that starts with `prefix` (e.g. the issuer + path). */
export function linkIn(mail: ReceivedMail, prefix: string): string {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const match = new RegExp(`${escaped}[^\\s"<>]*`).exec(mail.text)
  if (!match) throw new Error(`no link starting with ${prefix} in mail "${mail.subject}"`)
  return match[0]
}

/** The path and query of a mailed link, after checking it is built on the issuer. */
export function mailedPath(ctx: Pick<TestApp, 'issuer'>, mail: ReceivedMail, path: string): string {
  const link = new URL(linkIn(mail, `${ctx.issuer}${path}`))
  return `${link.pathname}${link.search}`
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = []
  const waiters: { match: (mail: ReceivedMail) => boolean; resolve: (mail: ReceivedMail) => void }[] = []
  let refused = 0
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS to negotiate, AUTH allowed without TLS.
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: options.auth === undefined,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass)
        callback(null, { user: auth.username })
      else callback(new Error('invalid credentials'))
    },
    onRcptTo(_address, _session, callback) {
      if (refused < (options.failFirst ?? 0)) {
        refused += 1
        const error = Object.assign(new Error('try again later'), { responseCode: 451 })
        callback(error)
        return
      }
      callback()
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail: ReceivedMail = {
            to: session.envelope.rcptTo.map((r) => r.address).join(','),
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
          }
          messages.push(mail)
          for (const waiter of [...waiters]) {
            if (waiter.match(mail)) {
              waiters.splice(waiters.indexOf(waiter), 1)
              waiter.resolve(mail)
            }
          }
          callback()
        })
        .catch((error: Error) => callback(error))
    },
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as AddressInfo
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@` : ''
  return {
    url: `smtp://${credentials}127.0.0.1:${port}`,
    messages,
    refused: () => refused,
    waitFor(match, timeoutMs = 10_000) {
      const found = messages.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (mail: ReceivedMail) => {
            clearTimeout(timer)
            resolve(mail)
          },
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(
            new Error(
              `no matching mail within ${timeoutMs} ms (received: ${messages.map((m) => `${m.to}: ${m.subject}`).join('; ') || 'none'})`,
            ),
          )
        }, timeoutMs)
        waiters.push(waiter)
      })
    },
    to: (address) => messages.filter((mail) => mail.to.split(',').includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export interface MailedApp {
  readonly ctx: TestApp
  readonly smtp: SmtpSink
}

/**
 * A test app whose SMTP_URL is a fresh sink (MAIL_FROM idp@example.com), with its outbox worker
 * running like a server's (mail is delivered from the outbox); both closed by the test's teardown.
 */
export async function mailedApp(
  t: { teardown(fn: () => unknown): void },
  options: TestAppOptions & { smtp?: SmtpSinkOptions } = {},
): Promise<MailedApp> {
  const smtp = await startSmtpSink(options.smtp)
  const ctx = await createTestApp({ ...options, env: { SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <idp@example.com>', ...options.env } })
  t.teardown(async () => {
    await ctx.close()
    await smtp.close()
  })
  ctx.deps.outbox.start()
  return { ctx, smtp }
}
