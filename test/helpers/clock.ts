import type { Clock } from '../../src/clock.js'

/** A clock tests move by hand: expiry and rotation without sleeping. */
export class FakeClock implements Clock {
  constructor(private seconds = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.seconds
  }
  advance(seconds: number): void {
    this.seconds += seconds
  }
  set(seconds: number): void {
    this.seconds = seconds
  }
}
