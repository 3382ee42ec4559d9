import path from 'node:path'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { enableWal } from '../../../src/db/sqlite-wal.js'
import { tempDir } from '../../helpers/test-app.js'

// The immediate SQLITE_BUSY comes from a race between processes opening a new file together
// (test/keys/concurrent-rotation.test.ts drives that for real, but it shows only now and then);
// these scripted answers pin down what the retry does with each outcome.
function scripted(answers: readonly (string | Error)[]) {
  let calls = 0
  return {
    get calls() {
      return calls
    },
    pragma(source: string) {
      if (source !== 'journal_mode = WAL') throw new Error(`unexpected pragma ${source}`)
      const answer = answers[Math.min(calls++, answers.length - 1)]!
      if (answer instanceof Error) throw answer
      return answer
    },
  }
}

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })

t.test('a real SQLite file is switched to WAL, which persists for the next connection', (t) => {
  const file = path.join(tempDir(), 'wal.db')
  const first = new SQLite(file)
  enableWal(first, file, 1000)
  first.close()
  const second = new SQLite(file)
  t.teardown(() => second.close())
  t.equal(second.pragma('journal_mode', { simple: true }), 'wal')
  t.end()
})

t.test('an in-memory database keeps its memory journal', (t) => {
  const memory = new SQLite(':memory:')
  t.teardown(() => memory.close())
  t.doesNotThrow(() => enableWal(memory, ':memory:', 1000))
  t.equal(memory.pragma('journal_mode', { simple: true }), 'memory')
  t.end()
})

t.test('SQLITE_BUSY is retried until the switch succeeds', (t) => {
  const sqlite = scripted([busy(), busy(), 'wal'])
  enableWal(sqlite, '/data/idp.db', 5000)
  t.equal(sqlite.calls, 3, 'two refusals, then WAL')
  t.end()
})

t.test('SQLITE_BUSY that never clears fails after the timeout', (t) => {
  const sqlite = scripted([busy()])
  const started = Date.now()
  t.throws(() => enableWal(sqlite, '/data/idp.db', 150), { code: 'SQLITE_BUSY' })
  t.ok(Date.now() - started >= 150, 'waited the whole timeout')
  t.ok(sqlite.calls > 1, 'retried meanwhile')
  t.end()
})

t.test('any other error fails at once', (t) => {
  const sqlite = scripted([Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }), 'wal'])
  t.throws(() => enableWal(sqlite, '/data/idp.db', 5000), { code: 'SQLITE_IOERR' })
  t.equal(sqlite.calls, 1)
  t.end()
})

t.test('a file SQLite will not put in WAL is refused: processes could not share it', (t) => {
  t.throws(() => enableWal(scripted(['delete']), '/data/idp.db', 5000), /kept journal_mode delete .*WAL is required/)
  t.end()
})
