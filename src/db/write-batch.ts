/**
 * Group commit: rows written by concurrent requests within one event-loop turn go to the database
 * as one multi-row INSERT. Each caller still waits for its own row to be committed, so nothing is
 * acknowledged before it is stored; only the per-statement cost (a WAL commit on SQLite, a round
 * trip on PostgreSQL) is shared.
 */
export interface WriteBatch<T> {
  /** Resolves once the row is committed; rejects if its batch failed. */
  add(row: T): Promise<void>
}

interface Pending<T> {
  readonly row: T
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * `write` stores a batch atomically. At most `maxRows` go into one statement, which bounds both
 * the statement's parameters and the number of distinct SQL texts the statement cache sees.
 */
export function createWriteBatch<T>(write: (rows: readonly T[]) => Promise<void>, maxRows = 64): WriteBatch<T> {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new TypeError('maxRows must be a positive integer')
  let queue: Pending<T>[] = []

  const flush = (): void => {
    const batch = queue
    queue = []
    for (let start = 0; start < batch.length; start += maxRows) {
      const chunk = batch.slice(start, start + maxRows)
      write(chunk.map((pending) => pending.row)).then(
        () => chunk.forEach((pending) => pending.resolve()),
        (error: unknown) => chunk.forEach((pending) => pending.reject(error)),
      )
    }
  }

  return {
    add(row: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        // setImmediate runs after the I/O callbacks of this turn: every request parsed in it joins.
        if (queue.length === 0) setImmediate(flush)
        queue.push({ row, resolve, reject })
      })
    },
  }
}
