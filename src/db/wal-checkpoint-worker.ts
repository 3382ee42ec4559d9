/**
 * The checkpoint thread: its own connection to the SQLite file copies the write-ahead log into the
 * database every interval (PASSIVE: never waits for readers or blocks writers) and, on request,
 * empties the log (TRUNCATE: waits up to the busy timeout for readers in other processes).
 */
import { parentPort, workerData } from 'node:worker_threads'
import SQLite from 'better-sqlite3'
import type { CheckpointReply, CheckpointRequest, CheckpointWorkerData } from './wal-checkpoint-protocol.js'

const port = parentPort!
const { file, intervalMs, busyTimeoutMs } = workerData as CheckpointWorkerData
const reply = (message: CheckpointReply) => port.postMessage(message)
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

let db: SQLite.Database
try {
  // The server made the file; a checkpointer must never create an empty database of its own.
  db = new SQLite(file, { timeout: busyTimeoutMs, fileMustExist: true })
} catch (error) {
  // Reported as a message: SQLite's error class does not survive the trip between threads.
  reply({ op: 'failed', error: reason(error) })
  process.exit(1)
}
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch (error) {
    // SQLITE_BUSY here means another process is checkpointing: the next interval catches up.
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') reply({ op: 'failed', error: reason(error) })
  }
}, intervalMs)

port.on('message', (request: CheckpointRequest) => {
  if (request.op === 'close') {
    clearInterval(timer)
    db.close()
    port.close()
    return
  }
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
    reply({ op: 'truncated', id: request.id, ok: true })
  } catch (error) {
    reply({ op: 'truncated', id: request.id, ok: false, error: reason(error) })
  }
})
reply({ op: 'ready' })
