/**
 * Something a request needs is briefly gone and comes back by itself (a signing thread that ended
 * is replaced by the next signature; the server is closing and its replacement takes over). The
 * request gets 503 with Retry-After, as when the database is unreachable (db/availability.ts),
 * rather than a 500 that reads as a bug.
 */
export class TemporarilyUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message)
    this.name = 'TemporarilyUnavailable'
  }
}
