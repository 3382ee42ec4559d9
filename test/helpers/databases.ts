/**
 * The databases every repository-level suite runs on: a fresh SQLite file always, and a fresh
 * PostgreSQL database when TEST_DATABASE_URL points at a server (CI starts one; see .ci/run).
 */
import path from 'node:path'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { tempDir } from './test-app.js'

export interface TestDatabase {
  readonly dialect: 'sqlite' | 'postgres'
  readonly url: string
  drop(): Promise<void>
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = tempDir('tessera-db-')
  return { dialect: 'sqlite', url: `sqlite:${path.join(dir, 'idp.db')}`, drop: async () => {} }
}

/** A new, empty database on the server named by TEST_DATABASE_URL (which must allow CREATE DATABASE). */
export async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `tessera_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    dialect: 'postgres',
    url: url.href,
    /**
     * Best effort: the app's pool is closed by now, but an autovacuum worker may still be in the
     * database for a moment (and a non-superuser may not terminate it), so retry briefly and
     * otherwise leave the database to the throwaway server.
     */
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            await client.query(`DROP DATABASE IF EXISTS ${name}`)
            return
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 200))
          }
        }
      } finally {
        await client.end()
      }
    },
  }
}

/**
 * The database of the whole suite: SQLite by default; with TEST_DATABASE=postgres every test app
 * gets its own fresh database on the server named by TEST_DATABASE_URL (CI runs the suite twice).
 */
export function suiteDialect(): 'sqlite' | 'postgres' {
  return process.env['TEST_DATABASE'] === 'postgres' ? 'postgres' : 'sqlite'
}

export async function suiteDatabase(dir: string): Promise<TestDatabase> {
  if (suiteDialect() === 'sqlite') return { dialect: 'sqlite', url: `sqlite:${path.join(dir, 'idp.db')}`, drop: async () => {} }
  const adminUrl = process.env['TEST_DATABASE_URL']
  if (!adminUrl) throw new Error('TEST_DATABASE=postgres needs TEST_DATABASE_URL (a role that may CREATE DATABASE)')
  return createPostgresDatabase(adminUrl)
}

/** Factories for each available dialect; PostgreSQL only when TEST_DATABASE_URL is set. */
export function availableDatabases(): { name: 'sqlite' | 'postgres'; create: () => Promise<TestDatabase> }[] {
  const postgresUrl = process.env['TEST_DATABASE_URL']
  return [
    { name: 'sqlite', create: createSqliteDatabase },
    ...(postgresUrl ? [{ name: 'postgres' as const, create: () => createPostgresDatabase(postgresUrl) }] : []),
  ]
}
