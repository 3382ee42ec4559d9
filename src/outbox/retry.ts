/** When a failed outbox job is tried again: exponential backoff, capped, a bounded number of attempts. Pure. */

export interface RetrySchedule {
  /** Wait after the first failure; each further failure doubles it. */
  readonly firstDelaySeconds: number
  /** No wait is longer than this. */
  readonly maxDelaySeconds: number
  /** After this many attempts the job is given up. */
  readonly maxAttempts: number
}

/** 5 s, 10 s, 20 s … capped at 10 minutes: twelve attempts over about 50 minutes. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { firstDelaySeconds: 5, maxDelaySeconds: 600, maxAttempts: 12 }

/** Seconds to wait after attempt number `attempt` (1 for the first) failed; null: give up. */
export function retryDelaySeconds(attempt: number, schedule: RetrySchedule): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new TypeError('attempt must be a positive integer')
  if (attempt >= schedule.maxAttempts) return null
  return Math.min(schedule.maxDelaySeconds, schedule.firstDelaySeconds * 2 ** (attempt - 1))
}
