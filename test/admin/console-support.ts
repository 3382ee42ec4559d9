/**
 * For the admin console tests (not a test file): an app with a fast hasher, admins with an
 * authenticator app, and signing them in through the real pages (password, then the code).
 */
import type { LightMyRequestResponse } from 'fastify'
import { beginTotpSetup, confirmTotp } from '../../src/factors/totp.js'
import { Browser, hiddenField } from '../helpers/client.js'
import { fastHasher } from '../helpers/fast-hasher.js'
import { createTestApp, type TestApp, type TestUser } from '../helpers/test-app.js'
import { totpCode } from '../mfa/support.js'

// Per-IP throttles count real time and app.inject is always 127.0.0.1: raised, they are not tested here.
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
}

export async function consoleApp(
  t: { teardown(fn: () => unknown): void },
  options: { listen?: boolean; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const ctx = await createTestApp({
    env: { ...NO_THROTTLE, ...options.env },
    ...(options.listen ? { listen: true } : {}),
    overrides: { hasher: fastHasher() },
  })
  t.teardown(() => ctx.close())
  return ctx
}

export interface TestAdmin extends TestUser {
  /** The authenticator app's key (base32), or null without one. */
  readonly totpSecret: string | null
}

/** A user with the given roles (admin by default) and, unless `totp: false`, a confirmed authenticator app. */
export async function addAdmin(
  ctx: TestApp,
  options: { roles?: readonly string[]; totp?: boolean; email?: string } = {},
): Promise<TestAdmin> {
  const user = await ctx.addUser({ roles: options.roles ?? ['admin'], ...(options.email ? { email: options.email } : {}) })
  if (options.totp === false) return { ...user, totpSecret: null }
  return { ...user, totpSecret: await addAuthenticatorApp(ctx, user.id) }
}

/** Sets up and confirms an authenticator app for the user, as the account page would; returns its key. */
export async function addAuthenticatorApp(ctx: TestApp, userId: string): Promise<string> {
  const stored = await ctx.deps.repos.users.findById(userId)
  if (!stored) throw new Error(`no user ${userId}`)
  const setup = await beginTotpSetup(ctx.deps, stored)
  if (!setup) throw new Error('the user already has an authenticator app')
  if (!(await confirmTotp(ctx.deps, stored, await totpCode(ctx, setup.secret)))) throw new Error('the setup code was refused')
  return setup.secret
}

/** A fresh code for the admin's app: the clock moves to the next 30-second step first (a code works once). */
export async function nextCode(ctx: TestApp, admin: TestAdmin): Promise<string> {
  if (admin.totpSecret === null) throw new Error('this admin has no authenticator app')
  ctx.clock.advance(30)
  return totpCode(ctx, admin.totpSecret)
}

/** The 303 target of a response ('' when none). */
export const location = (response: LightMyRequestResponse): string => String(response.headers.location ?? '')

/**
 * Signs in with the password and the authenticator-app code on the real pages; returns the answer
 * to the code (303 to where the sign-in leads).
 */
export async function signInWithCode(ctx: TestApp, browser: Browser, admin: TestAdmin): Promise<LightMyRequestResponse> {
  const afterPassword = await browser.login(admin.email, admin.password)
  if (location(afterPassword) !== '/login/second-factor')
    throw new Error(`the password did not lead to the second factor: ${afterPassword.statusCode} ${location(afterPassword)}`)
  return browser.submit('/login/second-factor', '/login/second-factor', { code: await nextCode(ctx, admin) })
}

/** A browser signed in as the admin with both factors (its session's acr is urn:tessera:mfa). */
export async function adminBrowser(ctx: TestApp, admin: TestAdmin, options: { userAgent?: string } = {}): Promise<Browser> {
  const browser = new Browser(ctx, options.userAgent ? { userAgent: options.userAgent } : {})
  const signedIn = await signInWithCode(ctx, browser, admin)
  if (signedIn.statusCode !== 303) throw new Error(`the second factor was refused: ${signedIn.statusCode}`)
  return browser
}

/** GET the page, then POST the form whose action is `action` with the page's anti-forgery token. */
export async function submitOn(browser: Browser, page: string, action: string, fields: Record<string, string> = {}) {
  const html = await browser.get(page)
  if (html.statusCode !== 200) throw new Error(`${page} answered ${html.statusCode}: ${html.body.slice(0, 300)}`)
  if (!html.body.includes(`action="${action.replace(/&/g, '&amp;')}"`)) throw new Error(`${page} has no form posting to ${action}`)
  return browser.post(action, { _csrf: hiddenField(html.body, '_csrf'), ...fields })
}

/** What the page says, without tags (for assertions on text). */
export const textOf = (html: string): string =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
