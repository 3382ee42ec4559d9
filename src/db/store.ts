/**
 * The one object that owns the database: connection, migrations, repositories, health, pruning,
 * closing, and every dialect-specific chore — on SQLite the WAL mode and pragmas at open, the
 * checkpoint thread of a serving process, emptying the log after pruning. Code outside db/ uses
 * the store and its repositories; kysely stays behind it.
 */
import { sql, type Transaction } from 'kysely'
import type { Logger } from 'pino'
import type { DatabaseLocation } from '../config/urls.js'
import {
  connectDatabase,
  migrationLockFile,
  SQLITE_BUSY_TIMEOUT_MS,
  sqliteFile,
  type Db,
  type PoolUse,
  type QueryObserver,
} from './connect.js'
import { migrateToLatest, type MigrationOutcome } from './migrate.js'
import type { Database } from './schema.js'
import { createRepositories, type Repositories } from './repositories.js'
import { pruneExpired, type PruneCounts } from './repositories/maintenance.js'
import { startWalCheckpoints, type WalCheckpoints } from './wal-checkpoints.js'

/** What pruning keeps: everything past these instants goes (epoch seconds). */
export interface PrunePolicy {
  readonly now: number
  /** Dead codes, sessions and refresh tokens are kept this long for replay and reuse detection. */
  readonly graceSeconds: number
  readonly sessionIdleSeconds: number
  /** A grant without refresh tokens is dead once this old (its access tokens have expired). */
  readonly shortGrantAgeSeconds: number
  readonly auditCutoff: number
  readonly throttleCutoff: number
}

export type PruneReport = PruneCounts & { readonly auditEvents: number; readonly throttleCounters: number }

export interface Store {
  readonly dialect: DatabaseLocation['dialect']
  readonly repos: Repositories
  /** The kysely instance: for repositories and their tests only. */
  readonly db: Db
  /**
   * Runs `work` in one transaction: what it writes through the repositories it is given commits
   * together, or (when it throws) nothing does and the error is rethrown. A repository method that
   * opens a transaction of its own joins this one behind a savepoint. Inside, use only these
   * repositories and await their calls one at a time: the transaction holds one connection, and
   * on SQLite `store.repos` would wait for it forever.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>
  /** Resolves when the database answers; throws when it does not. */
  health(): Promise<void>
  /** Deletes what can no longer matter, then (SQLite) empties the write-ahead log. */
  prune(policy: PrunePolicy): Promise<PruneReport>
  /**
   * For a serving process on an SQLite file: checkpoints move to a thread of their own, off the
   * request path (wal-checkpoints.ts). Does nothing on PostgreSQL or an in-memory database.
   */
  startBackgroundCheckpoints(log: Logger): Promise<void>
  /** Reads the PostgreSQL pool's connections now (metrics); none on SQLite. */
  readonly poolUse: (() => PoolUse) | undefined
  close(): Promise<void>
}

/**
 * A transaction as repositories see it. kysely refuses `transaction()` on a transaction, so the
 * repository methods that open one (to be atomic on their own) get a savepoint in it instead: their
 * failure undoes their writes only, and the outer transaction can go on (PostgreSQL would
 * otherwise refuse every later statement).
 */
function joinable(trx: Transaction<Database>): Db {
  let savepoints = 0
  async function nested<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    const name = sql.id(`repository_${++savepoints}`)
    await sql`savepoint ${name}`.execute(trx)
    try {
      const result = await work(joined)
      await sql`release savepoint ${name}`.execute(trx)
      return result
    } catch (error) {
      await sql`rollback to savepoint ${name}`.execute(trx)
      throw error
    }
  }
  const joined: Db = new Proxy(trx, {
    get(target, key) {
      if (key === 'transaction') return () => ({ execute: nested })
      const value: unknown = Reflect.get(target, key, target)
      // Bound to the transaction itself: kysely's methods read private fields a proxy lacks.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  return joined
}

/** How often a serving process copies the SQLite log into the database. */
const WAL_CHECKPOINT_INTERVAL_MS = 1000

export interface OpenStoreOptions {
  /** Apply pending migrations first (serialised across processes). Default true. */
  readonly migrate?: boolean
  /** Times every statement (metrics); without it nothing is timed. */
  readonly onQuery?: QueryObserver
}

/** Opens the database (and migrates it unless told not to). */
export async function openStore(
  location: DatabaseLocation,
  options: OpenStoreOptions = {},
): Promise<Store & { readonly migrated: MigrationOutcome }> {
  let poolUse: (() => PoolUse) | undefined
  const db = connectDatabase(location, { onQuery: options.onQuery, onPool: (use) => (poolUse = use) })
  let migrated: MigrationOutcome = { applied: [] }
  try {
    if (options.migrate !== false) migrated = await migrateToLatest(db, undefined, migrationLockFile(location))
  } catch (error) {
    await db.destroy()
    throw error
  }
  const repos = createRepositories(db)
  const file = sqliteFile(location)
  let checkpoints: WalCheckpoints | undefined
  let closed: Promise<void> | undefined

  return {
    dialect: location.dialect,
    repos,
    db,
    migrated,
    transaction(work) {
      return db.transaction().execute((trx) => work(createRepositories(joinable(trx))))
    },
    async health() {
      await sql`select 1`.execute(db)
    },
    async prune(policy) {
      const counts = await pruneExpired(db, policy.now, policy.graceSeconds, policy.sessionIdleSeconds, policy.shortGrantAgeSeconds)
      const auditEvents = await repos.auditEvents.deleteOlderThan(policy.auditCutoff)
      const throttleCounters = await repos.throttleCounters.deleteIdle(policy.throttleCutoff)
      // Under constant readers automatic checkpoints cannot restart the log, which then grows
      // without bound: a TRUNCATE checkpoint after each pass empties it (waiting at most the busy
      // timeout for the readers in flight), on the checkpoint thread when there is one.
      if (location.dialect === 'sqlite')
        await (checkpoints ? checkpoints.truncate() : sql`pragma wal_checkpoint(truncate)`.execute(db).then(() => undefined))
      return { ...counts, auditEvents, throttleCounters }
    },
    async startBackgroundCheckpoints(log) {
      if (file === undefined || checkpoints !== undefined) return
      checkpoints = await startWalCheckpoints(db, file, {
        intervalMs: WAL_CHECKPOINT_INTERVAL_MS,
        busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
        log,
      })
    },
    poolUse,
    close() {
      closed ??= (async () => {
        await checkpoints?.close()
        await db.destroy()
      })()
      return closed
    },
  }
}
