// oidc-provider storage adapter on better-sqlite3, so oidc-provider persists its artifacts to SQLite
// the way Tessera does (same pragmas: WAL, synchronous = NORMAL). One table for every model, keyed by
// (model, id), with the secondary lookups oidc-provider needs (grantId, Session uid, userCode).
import Database from 'better-sqlite3'

const now = () => Math.floor(Date.now() / 1000)

/** Opens (creating if needed) the database file with Tessera's settings and the adapter's schema. */
export function openDatabase(file) {
  const db = new Database(file, { timeout: 10_000 })
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS oidc_models (
      model TEXT NOT NULL,
      id TEXT NOT NULL,
      payload TEXT NOT NULL,
      grant_id TEXT,
      user_code TEXT,
      uid TEXT,
      expires_at INTEGER,
      consumed_at INTEGER,
      PRIMARY KEY (model, id)
    );
    CREATE INDEX IF NOT EXISTS oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_models_uid ON oidc_models (uid) WHERE uid IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_models_user_code ON oidc_models (user_code) WHERE user_code IS NOT NULL;
    CREATE INDEX IF NOT EXISTS oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;
  `)
  return db
}

/**
 * The adapter class for `new Provider(issuer, { adapter })`: oidc-provider constructs one per model
 * name. Expired rows are invisible at once and deleted by `prune()` (run it periodically).
 */
export function sqliteAdapter(db) {
  const statements = {
    upsert: db.prepare(`
      INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
      VALUES (@model, @id, @payload, @grantId, @userCode, @uid, @expiresAt, @consumedAt)
      ON CONFLICT (model, id) DO UPDATE SET
        payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
        uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at`),
    find: db.prepare('SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)'),
    findByUid: db.prepare(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    findByUserCode: db.prepare(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    consume: db.prepare('UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ?'),
    destroy: db.prepare('DELETE FROM oidc_models WHERE model = ? AND id = ?'),
    revokeByGrantId: db.prepare('DELETE FROM oidc_models WHERE grant_id = ? AND model = ?'),
  }

  // `consumed` lives in its own column so consume() is a one-column UPDATE, not a payload rewrite.
  const revive = (row) => {
    if (!row) return undefined
    const payload = JSON.parse(row.payload)
    if (row.consumed_at !== null) payload.consumed = row.consumed_at
    return payload
  }

  return class SqliteAdapter {
    constructor(model) {
      this.model = model
    }

    async upsert(id, payload, expiresIn) {
      const { consumed, ...rest } = payload
      statements.upsert.run({
        model: this.model,
        id,
        payload: JSON.stringify(rest),
        grantId: payload.grantId ?? null,
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expiresAt: typeof expiresIn === 'number' ? now() + expiresIn : null,
        consumedAt: consumed ?? null,
      })
    }

    async find(id) {
      return revive(statements.find.get(this.model, id, now()))
    }

    async findByUid(uid) {
      return revive(statements.findByUid.get(this.model, uid, now()))
    }

    async findByUserCode(userCode) {
      return revive(statements.findByUserCode.get(this.model, userCode, now()))
    }

    async consume(id) {
      statements.consume.run(now(), this.model, id)
    }

    async destroy(id) {
      statements.destroy.run(this.model, id)
    }

    async revokeByGrantId(grantId) {
      statements.revokeByGrantId.run(grantId, this.model)
    }
  }
}

/** Deletes expired rows; returns how many. */
export function prune(db) {
  return db.prepare('DELETE FROM oidc_models WHERE expires_at <= ?').run(now()).changes
}
