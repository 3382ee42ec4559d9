/**
 * The checkpoint thread a serving process runs on SQLite: the serving connection stops checkpointing
 * itself, the thread keeps the write-ahead log from growing, empties it on request, and hands
 * checkpoints back when it stops.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import pino from 'pino'
import t, { type Test } from 'tap'
import { connectDatabase, type Db } from '../../src/db/connect.js'
import { startWalCheckpoints } from '../../src/db/wal-checkpoints.js'
import { eventually } from '../helpers/processes.js'
import { tempDir } from '../helpers/test-app.js'

const log = pino({ level: 'silent' })
const PAGE_SIZED = 'x'.repeat(4000)
const ROWS = 3000

function openDb(t: Test): { db: Db; file: string } {
  const file = path.join(tempDir(), 'idp.db')
  const db = connectDatabase({ dialect: 'sqlite', file })
  t.teardown(() => db.destroy())
  return { db, file }
}

async function autocheckpointPages(db: Db): Promise<number> {
  const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)
  return rows[0]!.wal_autocheckpoint
}

/**
 * Whether every frame in the log has been copied into the database, read from the WAL-index
 * header in the -shm file (sqlite.org/walformat.html §2.1: mxFrame at byte 16, nBackfill at byte
 * 96, in the machine's byte order). Reading it never checkpoints, unlike any pragma would.
 */
function logCopiedBack(file: string): boolean {
  const header = Buffer.alloc(100)
  const fd = fs.openSync(`${file}-shm`, 'r')
  try {
    fs.readSync(fd, header, 0, header.length, 0)
  } finally {
    fs.closeSync(fd)
  }
  const u32 = (offset: number) => (os.endianness() === 'LE' ? header.readUInt32LE(offset) : header.readUInt32BE(offset))
  return u32(96) >= u32(16)
}

/**
 * About 12 MB of commits, a hundred rows each. With `checkpointedBy`, each commit waits until the
 * log has been copied back (by whoever checkpoints: the test shows it is the thread), however
 * slowly a loaded machine schedules that thread.
 */
async function writeMany(db: Db, checkpointedBy?: string): Promise<void> {
  await sql`create table filler (v text not null)`.execute(db)
  for (let done = 0; done < ROWS; done += 100) {
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < 100; i++) await sql`insert into filler (v) values (${PAGE_SIZED})`.execute(trx)
    })
    if (checkpointedBy !== undefined)
      await eventually(
        `the log copied back by ${checkpointedBy}`,
        async () => (logCopiedBack(checkpointedBy) ? true : undefined),
        30_000,
        10,
      )
  }
}

const walBytes = (file: string) => fs.statSync(`${file}-wal`).size

t.test('without checkpoints the log holds every write: the control for the next test', async (t) => {
  const { db, file } = openDb(t)
  await sql`pragma wal_autocheckpoint = 0`.execute(db)
  await writeMany(db)
  t.ok(walBytes(file) >= ROWS * 4000, `the log grew to ${walBytes(file)} bytes`)
  t.notOk(logCopiedBack(file), 'and none of it was copied back (what the next test waits for)')
})

t.test('the thread checkpoints in the background; the serving connection no longer does', async (t) => {
  const { db, file } = openDb(t)
  t.equal(await autocheckpointPages(db), 1000, 'SQLite checkpoints on commit by default')
  const checkpoints = await startWalCheckpoints(db, file, { intervalMs: 50, busyTimeoutMs: 1000, log })
  t.teardown(() => checkpoints.close())
  t.equal(await autocheckpointPages(db), 0, 'the serving connection leaves checkpoints to the thread')
  await writeMany(db, file)
  t.ok(
    walBytes(file) < (ROWS * 4000) / 3,
    `the log stayed at ${walBytes(file)} bytes while ${ROWS * 4000} were written: it restarts after each checkpoint`,
  )
  const { rows } = await sql<{ n: number }>`select count(*) as n from filler`.execute(db)
  t.equal(rows[0]!.n, ROWS, 'every row is there')

  await checkpoints.truncate()
  t.equal(walBytes(file), 0, 'truncate() empties the -wal file')

  await checkpoints.close()
  t.equal(await autocheckpointPages(db), 1000, 'after close() the connection checkpoints itself again')
  await t.rejects(checkpoints.truncate(), /has exited/, 'a stopped thread refuses work')
  await checkpoints.close()
})

t.test('a thread that cannot open the database fails the start and changes nothing', async (t) => {
  const { db } = openDb(t)
  const missing = path.join(tempDir(), 'missing.db')
  await t.rejects(
    startWalCheckpoints(db, missing, { intervalMs: 50, busyTimeoutMs: 100, log }),
    /could not open .*missing.db: unable to open database file/,
  )
  t.equal(await autocheckpointPages(db), 1000, 'the serving connection still checkpoints itself')
})
