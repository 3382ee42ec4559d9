import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'
import type { Db } from './connect.js'

// From src/db this is <root>/migrations (TypeScript, under tests); from dist/src/db it is dist/migrations.
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {}
    for (const file of (await fs.readdir(this.folder)).sort()) {
      if (!/\.(ts|js)$/.test(file) || file.endsWith('.d.ts')) continue
      const module = (await import(pathToFileURL(path.join(this.folder, file)).href)) as Migration
      migrations[file.replace(/\.(ts|js)$/, '')] = module
    }
    return migrations
  }
}

export interface MigrationOutcome {
  readonly applied: string[]
}

/**
 * Applies every pending migration; throws with the failing migration's name. On PostgreSQL
 * kysely serialises concurrent migrators with an advisory lock; on SQLite its lock is a no-op, so
 * pass `lockFile` (beside the database file) to serialise processes starting together.
 */
export async function migrateToLatest(db: Db, folder = MIGRATIONS_DIR, lockFile?: string): Promise<MigrationOutcome> {
  if (lockFile !== undefined) return withFileLock(lockFile, () => migrateToLatest(db, folder))
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(folder) })
  const result: MigrationResultSet = await migrator.migrateToLatest()
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`migration ${failed} failed`, { cause: result.error })
  }
  return { applied: (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) }
}

const LOCK_STALE_MS = 120_000
const LOCK_WAIT_MS = 120_000

/** A cross-process lock: exclusive creation of a file; a lock older than two minutes is stale. */
async function withFileLock<T>(lockFile: string, run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const handle = await fs.open(lockFile, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const stat = await fs.stat(lockFile).catch(() => undefined)
      if (stat && Date.now() - stat.mtimeMs > LOCK_STALE_MS) await fs.rm(lockFile, { force: true })
      if (Date.now() > deadline) throw new Error(`timed out waiting for the migration lock ${lockFile}`)
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100))
    }
  }
  try {
    return await run()
  } finally {
    await fs.rm(lockFile, { force: true })
  }
}
