/**
 * Online backups of an SQLite database (`idp backup`): `VACUUM INTO` writes a consistent snapshot
 * of the database — the write-ahead log included — to a new file through a connection of its own.
 * It only reads the source, so a running server keeps serving and writing (WAL readers do not block
 * writers), and the copy is compact and complete in one file. PostgreSQL is backed up with its own
 * tools (pg_dump), which know its consistency rules better than any copy made from here.
 */
import fs from 'node:fs'
import SQLite from 'better-sqlite3'
import type { DatabaseLocation } from '../config/urls.js'
import { SQLITE_BUSY_TIMEOUT_MS, sqliteFile } from './connect.js'

/** A backup that cannot be made here; the message says what to do instead. */
export class BackupRefused extends Error {
  readonly code = 'backup_refused'
  constructor(message: string) {
    super(message)
    this.name = 'BackupRefused'
  }
}

/** Why this database cannot be backed up here (checked before anything opens it), or null. */
export function backupProblem(location: DatabaseLocation): string | null {
  if (location.dialect === 'postgres') return 'PostgreSQL is backed up with pg_dump (see "Backup, restore and upgrade" in the README)'
  const source = sqliteFile(location)
  if (source === undefined) return 'an in-memory database has nothing to back up'
  if (!fs.existsSync(source)) return `no database at ${source}`
  return null
}

export interface BackupOutcome {
  readonly file: string
  readonly bytes: number
}

/**
 * Writes a snapshot of the SQLite database at `location` to `target`, a file that must not exist
 * (created mode 0600: it holds password hashes and sealed keys), and checks the copy opens as a
 * sound database. Refused for PostgreSQL and in-memory databases.
 */
export function backupSqlite(location: DatabaseLocation, target: string): BackupOutcome {
  const problem = backupProblem(location)
  if (problem !== null) throw new BackupRefused(problem)
  const source = sqliteFile(location)!
  // VACUUM INTO accepts an empty file: made first, private, and never an existing one.
  try {
    fs.writeFileSync(target, '', { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupRefused(`${target} exists already; give a new file name`)
    throw error
  }
  try {
    const db = new SQLite(source, { fileMustExist: true, timeout: SQLITE_BUSY_TIMEOUT_MS })
    try {
      db.prepare('VACUUM INTO ?').run(target)
    } finally {
      db.close()
    }
    const copy = new SQLite(target, { readonly: true, fileMustExist: true })
    try {
      const check = copy.pragma('quick_check', { simple: true })
      if (check !== 'ok') throw new Error(`the copy failed its check: ${String(check)}`)
    } finally {
      copy.close()
    }
  } catch (error) {
    fs.rmSync(target, { force: true })
    throw error
  }
  return { file: target, bytes: fs.statSync(target).size }
}
