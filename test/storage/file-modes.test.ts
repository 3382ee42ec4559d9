import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { connectDatabase } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { tempDir } from '../helpers/test-app.js'

t.test('a new SQLite database and its folder are private to the server user', async (t) => {
  const dir = path.join(tempDir(), 'data')
  const file = path.join(dir, 'idp.db')
  const previous = process.umask(0o000)
  t.teardown(() => process.umask(previous))
  const db = connectDatabase({ dialect: 'sqlite', file })
  t.teardown(() => db.destroy())
  await migrateToLatest(db)
  t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'data folder 0700')
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'database file 0600')
  t.equal(fs.statSync(`${file}-wal`).mode & 0o777, 0o600, 'write-ahead log 0600')
})
