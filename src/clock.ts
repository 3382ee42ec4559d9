/** Time is injected so expiry and rotation are tested without sleeping. */
export interface Clock {
  /** Current time in epoch seconds. */
  now(): number
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) }
