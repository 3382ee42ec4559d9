import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { Kysely, PostgresDialect, SqliteDialect, type LogEvent, type SqliteDatabase, type SqliteStatement } from 'kysely'
import type { DatabaseLocation } from '../config/urls.js'
import type { Database } from './schema.js'
import { enableWal } from './sqlite-wal.js'

export type Db = Kysely<Database>

// PostgreSQL returns bigint (int8) as strings by default; our epoch seconds fit in a JS number.
pg.types.setTypeParser(20, (value: string) => Number(value))

/** Distinct SQL texts kept prepared; dynamic `in (…)` lists make a few variants per query. */
const STATEMENT_CACHE_SIZE = 500

/**
 * kysely prepares every query afresh; preparing is a large share of a small query's cost, so
 * statements are reused by SQL text. Safe because kysely runs one statement at a time per
 * connection and Tessera never streams results (a statement being iterated cannot be reused).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>()
  return {
    close: () => void sqlite.close(),
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql)
      if (statement === undefined) {
        statement = sqlite.prepare(sql)
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!)
        cache.set(sql, statement)
      }
      return statement
    },
  }
}

/** How long a statement waits for another process's lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000

/** What a statement was, for timing by kind (never the SQL text: one series per kind, not per query). */
export type QueryKind = 'select' | 'insert' | 'update' | 'delete' | 'other'

/** Told the duration of every statement (metrics); only installed when someone listens. */
export type QueryObserver = (kind: QueryKind, seconds: number, failed: boolean) => void

/** A PostgreSQL pool's use at this moment. */
export interface PoolUse {
  readonly open: number
  readonly idle: number
  /** Queries waiting for a connection (all are busy). */
  readonly waiting: number
}

export interface ConnectOptions {
  readonly onQuery?: QueryObserver
  /** Receives a reader of the pool's use (PostgreSQL only: SQLite has one connection and no pool). */
  readonly onPool?: (use: () => PoolUse) => void
}

const QUERY_KINDS: Readonly<Record<string, QueryKind>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
}

/** kysely's log hook, used as a timer: it measures every statement once a hook is set. */
function timing(observer: QueryObserver): (event: LogEvent) => void {
  return (event) => observer(QUERY_KINDS[event.query.query.kind] ?? 'other', event.queryDurationMillis / 1000, event.level === 'error')
}

/** Opens the configured database. SQLite gets WAL and a busy timeout so several processes can share the file. */
export function connectDatabase(location: DatabaseLocation, options: ConnectOptions = {}): Db {
  const log = options.onQuery ? { log: timing(options.onQuery) } : {}
  if (location.dialect === 'sqlite') {
    if (location.file !== ':memory:') {
      // The database holds password hashes and sealed keys: created private (dir 0700, file 0600;
      // SQLite gives its -wal and -shm files the database file's mode).
      fs.mkdirSync(path.dirname(location.file), { recursive: true, mode: 0o700 })
      try {
        fs.writeFileSync(location.file, '', { mode: 0o600, flag: 'wx' })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
    }
    const sqlite = new SQLite(location.file, { timeout: SQLITE_BUSY_TIMEOUT_MS })
    enableWal(sqlite, location.file, SQLITE_BUSY_TIMEOUT_MS)
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('synchronous = NORMAL')
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), ...log })
  }
  // Bounded waits: with the database gone, requests fail (503) instead of queueing forever —
  // 5 s to get a connection, 5 s for a query's answer (a partition silences open connections).
  const pool = new pg.Pool({
    connectionString: location.url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  })
  // A connection dropping must never crash the process: idle ones are replaced by the pool, and a
  // checked-out one fails its query (a 503) — pg emits 'error' there with no listener of its own.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  options.onPool?.(() => ({ open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...log })
}

/** The SQLite file of a database; none for PostgreSQL or :memory:. */
export function sqliteFile(location: DatabaseLocation): string | undefined {
  return location.dialect === 'sqlite' && location.file !== ':memory:' ? location.file : undefined
}

/** Where the migration lock of a database lives: beside its SQLite file, if it has one. */
export function migrationLockFile(location: DatabaseLocation): string | undefined {
  const file = sqliteFile(location)
  return file === undefined ? undefined : `${file}.migrate.lock`
}
