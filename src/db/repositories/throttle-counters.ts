import { sql } from 'kysely'
import type { Db } from '../connect.js'

export interface ThrottlePolicy {
  /** Failures counted within this many seconds… */
  readonly windowSeconds: number
  /** …up to this many before the key is blocked. */
  readonly maxFailures: number
  /** First block length; each further block in a row doubles it, up to the window. */
  readonly baseBlockSeconds: number
}

/**
 * Failure counters shared by every instance through the database (login per account and per IP,
 * client authentication per client). Blocks grow while failures continue and lift by themselves.
 */
export function throttleCountersRepository(db: Db) {
  return {
    /** Seconds until every one of the keys may try again (one query); 0 when none is blocked. */
    async blockedFor(keys: readonly string[], now: number): Promise<number> {
      if (keys.length === 0) return 0
      const row = await db
        .selectFrom('throttle_counters')
        .select((eb) => eb.fn.max('blocked_until').as('until'))
        .where('key', 'in', keys)
        .executeTakeFirst()
      const until = row?.until == null ? null : Number(row.until)
      return until !== null && until > now ? until - now : 0
    },

    /** Counts one failure; returns the block (seconds) it caused, or 0. */
    async recordFailure(key: string, now: number, policy: ThrottlePolicy): Promise<number> {
      const windowStart = now - policy.windowSeconds
      // One atomic upsert: a window that has run out starts again at one failure.
      await db
        .insertInto('throttle_counters')
        .values({ key, failures: 1, window_started_at: now, blocked_until: null, strikes: 0 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: sql`case when throttle_counters.window_started_at < ${windowStart} then 1 else throttle_counters.failures + 1 end`,
            strikes: sql`case when throttle_counters.window_started_at < ${windowStart} and (throttle_counters.blocked_until is null or throttle_counters.blocked_until < ${windowStart}) then 0 else throttle_counters.strikes end`,
            window_started_at: sql`case when throttle_counters.window_started_at < ${windowStart} then ${now} else throttle_counters.window_started_at end`,
          }),
        )
        .execute()
      const row = await db.selectFrom('throttle_counters').selectAll().where('key', '=', key).executeTakeFirstOrThrow()
      if (row.failures < policy.maxFailures) return 0
      const block = Math.min(policy.baseBlockSeconds * 2 ** Math.min(row.strikes, 20), policy.windowSeconds)
      // A block starts a fresh count: after it lifts, the next failures earn a longer one.
      await db
        .updateTable('throttle_counters')
        .set({ blocked_until: now + block, failures: 0, window_started_at: now, strikes: row.strikes + 1 })
        .where('key', '=', key)
        .execute()
      return block
    },

    async clear(key: string): Promise<void> {
      await db.deleteFrom('throttle_counters').where('key', '=', key).execute()
    },

    async deleteIdle(cutoff: number): Promise<number> {
      const result = await db
        .deleteFrom('throttle_counters')
        .where('window_started_at', '<', cutoff)
        .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', cutoff)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
