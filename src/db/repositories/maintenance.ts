import type { Db } from '../connect.js'

export interface PruneCounts {
  readonly codes: number
  readonly interactions: number
  readonly sessions: number
  readonly accessTokens: number
  readonly refreshTokens: number
  readonly grants: number
  readonly accountTokens: number
}

/**
 * Deletes rows that can no longer matter, so storage does not grow without bound. `graceSeconds`
 * keeps recently-dead rows a little longer (code-replay and refresh-reuse detection stay possible
 * for a while after expiry).
 */
export async function pruneExpired(db: Db, now: number, graceSeconds: number, sessionIdleSeconds?: number): Promise<PruneCounts> {
  const cutoff = now - graceSeconds
  // Sessions idle for longer than the idle timeout are dead even before their absolute expiry.
  const idleCutoff = sessionIdleSeconds === undefined ? null : cutoff - sessionIdleSeconds
  const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows)
  const codes = count(await db.deleteFrom('authorization_codes').where('expires_at', '<', cutoff).executeTakeFirst())
  const interactions = count(await db.deleteFrom('interactions').where('expires_at', '<', cutoff).executeTakeFirst())
  const sessions = count(
    await db
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([eb('expires_at', '<', cutoff), eb('ended_at', '<', cutoff), ...(idleCutoff === null ? [] : [eb('last_seen_at', '<', idleCutoff)])]),
      )
      .executeTakeFirst(),
  )
  const accessTokens = count(await db.deleteFrom('access_tokens').where('expires_at', '<', cutoff).executeTakeFirst())
  const refreshTokens = count(await db.deleteFrom('refresh_tokens').where('idle_expires_at', '<', cutoff).executeTakeFirst())
  // A grant goes once it is dead (revoked or past its absolute end, or never had refresh tokens
  // and is older than any access token) and nothing refers to it any more.
  const grants = count(
    await db
      .deleteFrom('grants')
      .where((eb) =>
        eb.and([
          eb.or([eb('revoked_at', '<', cutoff), eb('expires_at', '<', cutoff), eb.and([eb('expires_at', 'is', null), eb('created_at', '<', cutoff)])]),
          eb.not(eb.exists(eb.selectFrom('refresh_tokens').select('refresh_tokens.token_hash').whereRef('refresh_tokens.grant_id', '=', 'grants.id'))),
          eb.not(eb.exists(eb.selectFrom('access_tokens').select('access_tokens.jti').whereRef('access_tokens.grant_id', '=', 'grants.id'))),
        ]),
      )
      .executeTakeFirst(),
  )
  const accountTokens = count(await db.deleteFrom('account_tokens').where('expires_at', '<', cutoff).executeTakeFirst())
  return { codes, interactions, sessions, accessTokens, refreshTokens, grants, accountTokens }
}
