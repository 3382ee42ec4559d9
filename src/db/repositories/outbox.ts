/**
 * The durable outbox (src/outbox): jobs stored in the same database as the change that caused
 * them, claimed by any instance with a conditional UPDATE per row — of concurrent claimers exactly
 * one sees its UPDATE change the row, on PostgreSQL (the row lock serialises them and the loser's
 * conditions are re-checked against the winner's row) as on SQLite (one writer at a time). A claim
 * is a lease: past locked_until another instance may take the job (its holder crashed). Finishing
 * a job is compare-and-set on the claim's lock_token, so a late holder cannot undo a newer claim.
 */
import type { Db } from '../connect.js'

export interface NewOutboxJob {
  readonly id: string
  readonly kind: string
  /** JSON text. */
  readonly payload: string
  readonly createdAt: number
  readonly nextAttemptAt: number
}

export interface ClaimedOutboxJob {
  readonly id: string
  readonly kind: string
  readonly payload: string
  /** Attempts including this one. */
  readonly attempts: number
  readonly lockToken: string
}

export interface ClaimRequest {
  /** Only jobs this instance has handlers for (a newer instance may know more kinds). */
  readonly kinds: readonly string[]
  readonly now: number
  readonly lockedUntil: number
  readonly lockToken: string
  readonly limit: number
}

/** Stores jobs; `db` may be a transaction, so a job is written with the change that caused it. */
export async function insertOutboxJobs(db: Db, jobs: readonly NewOutboxJob[]): Promise<void> {
  if (jobs.length === 0) return
  await db
    .insertInto('outbox')
    .values(
      jobs.map((job) => ({
        id: job.id,
        kind: job.kind,
        payload: job.payload,
        attempts: 0,
        next_attempt_at: job.nextAttemptAt,
        locked_until: null,
        lock_token: null,
        created_at: job.createdAt,
        last_error: null,
        delivered_at: null,
        failed_at: null,
      })),
    )
    .execute()
}

export function outboxRepository(db: Db) {
  /** The claim still held: the row is ours only while its lock_token is the one we set. */
  const held = (job: Pick<ClaimedOutboxJob, 'id' | 'lockToken'>) =>
    db.updateTable('outbox').where('id', '=', job.id).where('lock_token', '=', job.lockToken)

  return {
    enqueue: (jobs: readonly NewOutboxJob[]) => insertOutboxJobs(db, jobs),

    /** Claims up to `limit` due jobs, oldest due first; each claim counts as an attempt. */
    async claim(request: ClaimRequest): Promise<ClaimedOutboxJob[]> {
      if (request.kinds.length === 0) return []
      const { now } = request
      const candidates = await db
        .selectFrom('outbox')
        .select('id')
        .where('delivered_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
        .where('kind', 'in', [...request.kinds])
        .orderBy('next_attempt_at')
        .limit(request.limit)
        .execute()
      const claimed: ClaimedOutboxJob[] = []
      for (const { id } of candidates) {
        // Conditional on what made it a candidate: another instance may have claimed it since.
        const row = await db
          .updateTable('outbox')
          .set((eb) => ({ locked_until: request.lockedUntil, lock_token: request.lockToken, attempts: eb('attempts', '+', 1) }))
          .where('id', '=', id)
          .where('delivered_at', 'is', null)
          .where('failed_at', 'is', null)
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
          .returning(['id', 'kind', 'payload', 'attempts'])
          .executeTakeFirst()
        if (row) claimed.push({ ...row, attempts: Number(row.attempts), lockToken: request.lockToken })
      }
      return claimed
    },

    /** Done. False when the claim had been lost (the lease ran out and another instance took it). */
    async complete(job: ClaimedOutboxJob, now: number): Promise<boolean> {
      const result = await held(job).set({ delivered_at: now, locked_until: null, lock_token: null, last_error: null }).executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /** Failed this time: due again at `nextAttemptAt`. */
    async retry(job: ClaimedOutboxJob, nextAttemptAt: number, error: string): Promise<boolean> {
      const result = await held(job)
        .set({ next_attempt_at: nextAttemptAt, locked_until: null, lock_token: null, last_error: error.slice(0, 500) })
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /** Given up for good. */
    async fail(job: ClaimedOutboxJob, now: number, error: string): Promise<boolean> {
      const result = await held(job)
        .set({ failed_at: now, locked_until: null, lock_token: null, last_error: error.slice(0, 500) })
        .executeTakeFirst()
      return result.numUpdatedRows === 1n
    },

    /** Jobs of these kinds not finished whose time has come (claimed or not). */
    async countDue(now: number, kinds: readonly string[]): Promise<number> {
      if (kinds.length === 0) return 0
      const row = await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('delivered_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .where('kind', 'in', [...kinds])
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    /** Unfinished jobs per kind (metrics): all of them, and those whose time has come. */
    async backlog(now: number): Promise<{ readonly kind: string; readonly pending: number; readonly due: number }[]> {
      const rows = await db
        .selectFrom('outbox')
        .select((eb) => [
          'kind',
          eb.fn.countAll<number>().as('pending'),
          eb.fn.sum<number>(eb.case().when('next_attempt_at', '<=', now).then(1).else(0).end()).as('due'),
        ])
        .where('delivered_at', 'is', null)
        .where('failed_at', 'is', null)
        .groupBy('kind')
        .execute()
      // PostgreSQL answers count and sum as int8 text.
      return rows.map((row) => ({ kind: row.kind, pending: Number(row.pending), due: Number(row.due ?? 0) }))
    },
  }
}

export type OutboxRepository = ReturnType<typeof outboxRepository>
