/**
 * A user's login sessions as operators see them, whichever surface asks (the admin API, the admin
 * console): the live ones, and ending one. A session is named by its public handle (the account
 * page's reference, never the cookie or its hash); ending it goes through end-session.ts, so its
 * grants are revoked and its relying parties get back-channel logout tokens.
 */
import type { Deps } from '../deps.js'
import type { Actor } from '../model/actor.js'
import type { LoginSession } from '../model/session.js'
import { endSession } from './end-session.js'

/** The user has no live session with this handle (never had, or it has ended). */
export class UnknownSession extends Error {
  readonly code = 'unknown_session'
  constructor(
    readonly userId: string,
    readonly handle: string,
  ) {
    super(`user ${userId} has no live session ${handle}`)
    this.name = 'UnknownSession'
  }
}

/** Live sessions (not ended, not expired, not idle past SESSION_IDLE_TTL), most recently used first. */
export function listUserSessions(deps: Pick<Deps, 'repos' | 'clock' | 'config'>, userId: string): Promise<LoginSession[]> {
  return deps.repos.sessions.listLiveForUser(userId, deps.clock.now(), deps.config.sessionIdleTtl)
}

/**
 * Ends one of the user's sessions as a logout would; audited as a revocation naming the actor.
 * Throws UnknownSession when no live session of the user has this handle.
 */
export async function endUserSession(
  deps: Pick<Deps, 'repos' | 'clock' | 'audit' | 'outbox'>,
  userId: string,
  handle: string,
  actor: Actor,
): Promise<void> {
  const idHash = await deps.repos.sessions.findLiveByHandle(userId, handle)
  if (idHash === undefined) throw new UnknownSession(userId, handle)
  await endSession(deps, { idHash, userId, reason: 'ended_by_admin', actor })
}
