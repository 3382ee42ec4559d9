import type SQLite from 'better-sqlite3'

/**
 * Switches an SQLite file to WAL (persistent: the first process to succeed sets it for every later
 * one). Processes opening a new install together race for it, and SQLite answers a loser
 * SQLITE_BUSY at once, bypassing the busy timeout (seen here within 1 ms, about one process in
 * 360 when six start together): so the switch is retried after a short sleep until `timeoutMs`,
 * the same wait the busy timeout gives every other statement.
 */
export function enableWal(sqlite: Pick<SQLite.Database, 'pragma'>, file: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const mode = sqlite.pragma('journal_mode = WAL', { simple: true })
      // An in-memory database has no WAL; a file that cannot have one would break sharing across processes.
      if (mode !== 'wal' && file !== ':memory:') throw new Error(`SQLite kept journal_mode ${String(mode)} for ${file}; WAL is required`)
      return
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error
      // Opening the database is synchronous and happens once, at start: a blocking sleep is fine.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20)
    }
  }
}
