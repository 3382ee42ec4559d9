/**
 * SQLite checkpoints off the request path. By default the connection whose commit fills the
 * write-ahead log past 1,000 pages copies it into the database there and then, fsyncs included:
 * on the server's only thread that is a request stalled for tens of milliseconds every few
 * thousand writes. A serving process instead turns its automatic checkpoints off and a thread of
 * its own checkpoints every second with a separate connection (several such threads on one file,
 * one per cluster worker, take turns: a checkpoint already running makes the others skip).
 */
import { Worker } from 'node:worker_threads'
import { sql } from 'kysely'
import type { Logger } from 'pino'
import type { Db } from './connect.js'
import type { CheckpointReply, CheckpointRequest, CheckpointWorkerData } from './wal-checkpoint-protocol.js'
import { workerEntry } from '../worker-entry.js'

const WORKER = workerEntry(import.meta.url, 'wal-checkpoint-worker')
/** SQLite's own default threshold, restored when the checkpoint thread is gone. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000

export interface WalCheckpoints {
  /** Copies the whole log into the database and empties the -wal file. */
  truncate(): Promise<void>
  close(): Promise<void>
}

export interface WalCheckpointOptions {
  readonly intervalMs: number
  readonly busyTimeoutMs: number
  readonly log: Logger
}

/** Starts the checkpoint thread for `file`, then hands `db`'s checkpoints to it; takes them back if the thread ends. */
export async function startWalCheckpoints(db: Db, file: string, options: WalCheckpointOptions): Promise<WalCheckpoints> {
  const worker = new Worker(WORKER.url, {
    workerData: { file, intervalMs: options.intervalMs, busyTimeoutMs: options.busyTimeoutMs } satisfies CheckpointWorkerData,
    execArgv: WORKER.execArgv,
  })
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  let nextId = 1
  let started = false
  let exited = false
  let closing = false
  let closed: Promise<void> | undefined
  const send = (request: CheckpointRequest) => worker.postMessage(request)

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: CheckpointReply) => {
      if (message.op === 'ready') {
        started = true
        return resolve()
      }
      if (message.op === 'failed' && !started)
        return reject(new Error(`the WAL checkpoint thread could not open ${file}: ${message.error}`))
      if (message.op === 'failed')
        return options.log.error({ event: 'wal_checkpoint_failed', reason: message.error }, 'WAL checkpoint failed')
      const request = pending.get(message.id)
      pending.delete(message.id)
      // While close() waits for the thread's exit, the thread must keep this process alive.
      if (pending.size === 0 && !closing) worker.unref()
      if (message.ok) request?.resolve()
      else request?.reject(new Error(`WAL truncation failed: ${message.error}`))
    })
    worker.on('error', (error) => {
      options.log.error({ event: 'wal_checkpoint_failed', reason: String(error) }, 'the WAL checkpoint thread failed')
      reject(new Error(`the WAL checkpoint thread failed: ${String(error)}`))
    })
    worker.once('exit', (code) => {
      exited = true
      if (started && !closing) {
        options.log.error(
          { event: 'wal_checkpoint_exit', code },
          'the WAL checkpoint thread stopped; this connection checkpoints itself again',
        )
        void autocheckpoint(db, true).catch(() => undefined)
      }
      reject(new Error('the WAL checkpoint thread exited before it was ready'))
      for (const request of pending.values()) request.reject(new Error('the WAL checkpoint thread has exited'))
      pending.clear()
    })
  })
  await ready
  // A thread that only runs on a timer must not keep the process alive; a request awaiting its
  // answer does (ref() below).
  worker.unref()
  await autocheckpoint(db, false)

  return {
    truncate() {
      if (exited) return Promise.reject(new Error('the WAL checkpoint thread has exited'))
      const id = nextId++
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.ref()
        send({ op: 'truncate', id })
      })
    },
    close() {
      closed ??= (async () => {
        if (exited) return
        closing = true
        // Referenced until its exit is reported: unreferenced, nothing else may keep this process
        // alive, and it would end with the close unfinished.
        worker.ref()
        const gone = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
        try {
          await autocheckpoint(db, true)
        } finally {
          // The thread stops even if the connection could not take its checkpoints back.
          send({ op: 'close' })
          await gone
        }
      })()
      return closed
    },
  }
}

async function autocheckpoint(db: Db, on: boolean): Promise<void> {
  await sql.raw(`pragma wal_autocheckpoint = ${on ? DEFAULT_AUTOCHECKPOINT_PAGES : 0}`).execute(db)
}
