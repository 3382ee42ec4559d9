/**
 * A Tessera built the way test/helpers/test-app.ts builds one, but with the dependency overrides
 * createTestApp does not take (a log captured in memory, a spy around the password hasher), plus
 * the few browser steps the account tests need on such an app.
 */
import path from 'node:path'
import fs from 'node:fs'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Logger } from 'pino'
import { buildApp } from '../../src/app.js'
import type { PasswordHasher } from '../../src/accounts/password-hasher.js'
import { loadConfig } from '../../src/config/config.js'
import { closeDeps, createDeps, type Deps } from '../../src/deps.js'
import { createLogger } from '../../src/logger.js'
import { randomId } from '../../src/secrets.js'
import { CookieJar, hiddenField } from '../helpers/browser-flow.js'
import { FakeClock } from '../helpers/clock.js'
import { tempDir } from '../helpers/test-app.js'

export interface CustomApp {
  readonly app: FastifyInstance
  readonly deps: Deps
  readonly issuer: string
  readonly clock: FakeClock
}

export interface CustomAppOptions {
  readonly env?: Readonly<Record<string, string>>
  readonly log?: Logger
  readonly hasher?: PasswordHasher
  readonly mailRetryDelaysMs?: readonly number[]
}

/** A real app on a temp SQLite file (app.inject only), closed and removed by the test's teardown. */
export async function customApp(t: { teardown(fn: () => unknown): void }, options: CustomAppOptions = {}): Promise<CustomApp> {
  const dir = tempDir()
  const config = loadConfig({ DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, KEYS_DIR: path.join(dir, 'keys'), ISSUER: 'http://localhost:3000', LOG_LEVEL: 'silent', ...options.env })
  const clock = new FakeClock()
  const deps = await createDeps(config, {
    clock,
    log: options.log ?? createLogger({ logLevel: 'silent' }),
    mailRetryDelaysMs: options.mailRetryDelaysMs ?? [50, 100, 200],
    ...(options.hasher ? { hasher: options.hasher } : {}),
  })
  const app = await buildApp(deps)
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await closeDeps(deps)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { app, deps, issuer: config.issuer, clock }
}

export interface CapturedLog {
  /** Tessera's production logger (createLogger, with its redaction), writing into memory. */
  readonly logger: Logger
  /** Every line written so far, parsed. */
  entries(): Record<string, unknown>[]
  /** Every line written so far, as written. */
  text(): string
}

export function captureLog(level: 'info' | 'warn' = 'info'): CapturedLog {
  const raw: string[] = []
  const logger = createLogger({ logLevel: level }, { write: (line: string) => void raw.push(line) })
  return {
    logger,
    entries: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => raw.join(''),
  }
}

/** A user stored directly (as `idp users add` would), hashed with the app's own hasher. */
export async function storeUser(ctx: CustomApp, input: { email?: string; password?: string; name?: string } = {}): Promise<{ id: string; email: string; password: string }> {
  const user = { id: randomId(), email: input.email ?? `user-${randomId(4).toLowerCase()}@example.com`, password: input.password ?? 'correct horse battery staple' }
  await ctx.deps.repos.users.insert({ ...user, name: input.name ?? 'Stored User', passwordHash: await ctx.deps.hasher.hash(user.password), emailVerified: true, disabledAt: null, createdAt: ctx.clock.now() })
  return { id: user.id, email: user.email, password: user.password }
}

/** GET a form page (keeping cookies), then POST it with its anti-forgery token like a same-origin browser. */
export async function submit(ctx: Pick<CustomApp, 'app' | 'issuer'>, jar: CookieJar, pageUrl: string, postUrl: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const page = await ctx.app.inject({ method: 'GET', url: pageUrl, headers: { cookie: jar.header(), accept: 'text/html' } })
  jar.store(page)
  if (page.statusCode !== 200) throw new Error(`${pageUrl} answered ${page.statusCode}`)
  const response = await ctx.app.inject({
    method: 'POST',
    url: postUrl,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), origin: new URL(ctx.issuer).origin, accept: 'text/html' },
    payload: new URLSearchParams({ _csrf: hiddenField(page.body, '_csrf'), ...fields }).toString(),
  })
  jar.store(response)
  return response
}

export { CookieJar }
