/**
 * Shared set-up for the account-flow tests: a Tessera whose SMTP_URL points at a real SMTP server
 * on loopback, and browser-like helpers for the signup, reset and account forms.
 */
import type { LightMyRequestResponse } from 'fastify'
import { CookieJar, hiddenField } from '../helpers/browser-flow.js'
import { startSmtpSink, linkIn, type ReceivedMail, type SmtpSink, type SmtpSinkOptions } from '../helpers/smtp.js'
import { createTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app.js'
import { getPage, postForm } from '../lifecycle/support.js'

export interface MailedApp {
  readonly ctx: TestApp
  readonly smtp: SmtpSink
}

export async function mailedApp(t: { teardown(fn: () => unknown): void }, options: TestAppOptions & { smtp?: SmtpSinkOptions } = {}): Promise<MailedApp> {
  const smtp = await startSmtpSink(options.smtp)
  const ctx = await createTestApp({ ...options, env: { SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <idp@example.com>', ...options.env } })
  t.teardown(async () => {
    await ctx.close()
    await smtp.close()
  })
  return { ctx, smtp }
}

/** GET the form page, then POST it with its anti-forgery token and the given fields. */
export async function submitForm(ctx: TestApp, jar: CookieJar, pageUrl: string, postUrl: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const page = await getPage(ctx, jar, pageUrl)
  if (page.statusCode !== 200) throw new Error(`${pageUrl} answered ${page.statusCode}`)
  return postForm(ctx, jar, postUrl, { _csrf: hiddenField(page.body, '_csrf'), ...fields })
}

export function signUp(ctx: TestApp, jar: CookieJar, fields: { name: string; email: string; password: string; interaction?: string }): Promise<LightMyRequestResponse> {
  const query = fields.interaction ? `?interaction=${fields.interaction}` : ''
  return submitForm(ctx, jar, `/signup${query}`, '/signup', { interaction: fields.interaction ?? '', name: fields.name, email: fields.email, password: fields.password })
}

export function forgotPassword(ctx: TestApp, jar: CookieJar, email: string): Promise<LightMyRequestResponse> {
  return submitForm(ctx, jar, '/forgot-password', '/forgot-password', { email })
}

/** The path and query of a mailed link, after checking it is built on the issuer. */
export function mailedPath(ctx: TestApp, mail: ReceivedMail, path: string): string {
  const link = new URL(linkIn(mail, `${ctx.issuer}${path}`))
  return `${link.pathname}${link.search}`
}

/** Sign in on the standalone login page; the jar then holds the session cookie. */
export async function signInAtLoginPage(ctx: TestApp, jar: CookieJar, email: string, password: string): Promise<LightMyRequestResponse> {
  return submitForm(ctx, jar, '/login', '/login', { interaction: '', email, password })
}

export { CookieJar, getPage, postForm, hiddenField, linkIn }
