import type { Db } from '../connect.js'

export interface RegistrationToken {
  /** The first characters of the hash: enough to name a token in `list` and `revoke`. */
  readonly id: string
  readonly createdAt: number
  readonly expiresAt: number | null
  readonly maxUses: number | null
  readonly uses: number
}

/** Initial access tokens (RFC 7591 §3): what REGISTRATION=token asks of a registering client. Stored hashed. */
export function registrationTokensRepository(db: Db) {
  return {
    async insert(tokenHash: string, now: number, expiresAt: number | null, maxUses: number | null): Promise<void> {
      await db
        .insertInto('registration_tokens')
        .values({ token_hash: tokenHash, created_at: now, expires_at: expiresAt, max_uses: maxUses, uses: 0 })
        .execute()
    },

    /** Counts one use: true only when the token exists, has not expired and has uses left (one statement, so two instances cannot both take the last use). */
    async use(tokenHash: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('registration_tokens')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('token_hash', '=', tokenHash)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    async list(): Promise<RegistrationToken[]> {
      const rows = await db.selectFrom('registration_tokens').selectAll().orderBy('created_at').execute()
      return rows.map((row) => ({
        id: row.token_hash.slice(0, 12),
        createdAt: Number(row.created_at),
        expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        maxUses: row.max_uses,
        uses: row.uses,
      }))
    },

    /** Revokes the tokens whose hash starts with `id` (as `list` shows it); the count removed. */
    async revoke(id: string): Promise<number> {
      if (!/^[A-Za-z0-9_-]{8,}$/.test(id)) return 0
      // Compared in code: `_` is a LIKE wildcard and base64url uses it.
      const hashes = (await db.selectFrom('registration_tokens').select('token_hash').execute())
        .map((row) => row.token_hash)
        .filter((hash) => hash.startsWith(id))
      if (hashes.length === 0) return 0
      const result = await db.deleteFrom('registration_tokens').where('token_hash', 'in', hashes).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
