/**
 * Builds a real Tessera (real SQLite file in a temp dir, real keys, real argon2) with a fake clock,
 * for route tests with app.inject and for end-to-end tests that listen on a loopback port.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { argon2idHasher } from '../../src/accounts/password-hasher.js'
import { buildApp } from '../../src/app.js'
import { buildClient, type NewClientRequest } from '../../src/clients/registration.js'
import { loadConfig } from '../../src/config/config.js'
import { closeDeps, createDeps, type Deps, type DepsOverrides } from '../../src/deps.js'
import type { RetrySchedule } from '../../src/outbox/retry.js'
import { randomId } from '../../src/secrets.js'
import { joseSigner } from '../../src/tokens/sign.js'
import { FakeClock } from './clock.js'
import { freePort } from './free-port.js'
import { suiteDatabase } from './databases.js'
import type { Client } from '../../src/model/client.js'

export interface TestUser {
  readonly id: string
  readonly email: string
  readonly password: string
  readonly name: string
}

export interface TestApp {
  readonly app: FastifyInstance
  readonly deps: Deps
  readonly clock: FakeClock
  readonly issuer: string
  readonly dir: string
  /** The DATABASE_URL this app uses (SQLite in dir, or its own PostgreSQL database). */
  readonly databaseUrl: string
  addClient(input?: Partial<NewClientRequest> & { firstParty?: boolean }): Promise<{ client: Client; secret: string | null }>
  addUser(input?: Partial<Omit<TestUser, 'id'>> & { emailVerified?: boolean; roles?: readonly string[] }): Promise<TestUser>
  close(): Promise<void>
}

export interface TestAppOptions {
  readonly env?: Readonly<Record<string, string>>
  /** Listen on a free loopback port; the issuer is then http://127.0.0.1:PORT. */
  readonly listen?: boolean
  /** With listen: name the issuer http://localhost:PORT instead (WebAuthn refuses IP addresses as RP IDs). */
  readonly issuerHost?: 'localhost'
  readonly clock?: FakeClock
  /**
   * How mail deliveries are retried (default: at once, 4 attempts, so retry tests finish quickly;
   * the fake clock does not move by itself).
   */
  readonly mailRetry?: Partial<RetrySchedule>
  /** Dependencies to use instead of the real ones (a hasher, a logger…); see DepsOverrides. */
  readonly overrides?: Omit<DepsOverrides, 'clock'>
}

export function tempDir(prefix = 'tessera-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = tempDir()
  const port = options.listen ? await freePort() : 3000
  const issuer =
    options.env?.['ISSUER'] ?? (options.listen ? `http://${options.issuerHost ?? '127.0.0.1'}:${port}` : 'http://localhost:3000')
  const database = options.env?.['DATABASE_URL'] === undefined ? await suiteDatabase(dir) : undefined
  const databaseUrl = options.env?.['DATABASE_URL'] ?? database?.url ?? `sqlite:${path.join(dir, 'idp.db')}`
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    KEYS_DIR: path.join(dir, 'keys'),
    ISSUER: issuer,
    PORT: String(port),
    LOG_LEVEL: 'silent',
    ...options.env,
  })
  const clock = options.clock ?? new FakeClock()
  const deps = await createDeps(config, {
    clock,
    log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    mailRetry: { firstDelaySeconds: 0, maxDelaySeconds: 0, maxAttempts: 4, ...options.mailRetry },
    // argon2id with the configured parameters, in this process: the server's hashing process
    // would load the TypeScript loader for every test app (seconds each on a loaded machine). That
    // process is covered by its own tests and by every test of the real server process.
    hasher: argon2idHasher({ memoryCost: config.argon2MemoryCost, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism }),
    // jose in this thread, for the same reason: a signing thread would compile its TypeScript for
    // every test app. The signing threads have their own tests (test/tokens/signing-threads.test.ts)
    // and sign for every test of the real server process.
    signer: joseSigner,
    ...options.overrides,
  })
  const app = await buildApp(deps)
  if (options.listen) await app.listen({ port, host: '127.0.0.1' })
  else await app.ready()
  let userCount = 0
  return {
    app,
    deps,
    clock,
    issuer,
    dir,
    databaseUrl,
    async addClient(input = {}) {
      const { client, secret } = buildClient(
        {
          name: input.name ?? 'Test App',
          redirectUris: input.redirectUris ?? ['https://rp.example/callback'],
          postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
          isPublic: input.isPublic ?? false,
          grantTypes: input.grantTypes ?? [],
          pkce: input.pkce,
          scopes: input.scopes ?? [],
          thirdParty: input.thirdParty ?? input.firstParty === false,
          introspect: input.introspect ?? false,
          introspectApis: input.introspectApis ?? [],
        },
        clock.now(),
      )
      const stored = input.firstParty === false ? { ...client, firstParty: false } : client
      await deps.repos.clients.insert(stored)
      return { client: stored, secret }
    },
    async addUser(input = {}) {
      userCount += 1
      const user: TestUser = {
        id: randomId(),
        email: input.email ?? `user${userCount}-${randomId(4).toLowerCase()}@example.com`,
        password: input.password ?? 'correct horse battery staple',
        name: input.name ?? `User ${userCount}`,
      }
      await deps.repos.users.insert({
        id: user.id,
        email: user.email,
        name: user.name,
        passwordHash: await deps.hasher.hash(user.password),
        emailVerified: input.emailVerified ?? true,
        disabledAt: null,
        createdAt: clock.now(),
        roles: input.roles ?? [],
      })
      return user
    },
    async close() {
      await app.close()
      await closeDeps(deps)
      await database?.drop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
