/**
 * OpenID Connect Back-Channel Logout 1.0 through the outbox: when a session ends, each client that
 * received tokens in it and registered a backchannel_logout_uri gets a job (client, sub, sid —
 * never a token); the worker signs a fresh logout token for every attempt and POSTs it as
 * `logout_token=…` (§2.5). Any 2xx is success (the specification says 200); anything else, or no
 * answer within the timeout, is tried again later. A job given up is a security event naming the
 * client.
 */
import type { Deps } from '../deps.js'
import type { NewOutboxJob } from '../db/repositories/outbox.js'
import type { EndedSession, SessionClient } from '../model/session.js'
import { logoutTokenClaims } from '../oauth/backchannel-logout.js'
import { isLocalIssuer } from '../oauth/web-url.js'
import { JobRefused, type Outbox, type OutboxHandler } from '../outbox/outbox.js'
import { postForm } from '../outbox/post-form.js'
import { randomId } from '../secrets.js'
import { signJwt } from '../tokens/sign.js'

export const BACKCHANNEL_LOGOUT = 'backchannel_logout'

/** §2.5 leaves the timeout to the OP: long enough for a slow relying party, short enough to move on. */
const DELIVERY_TIMEOUT_MS = 5_000

interface LogoutJob {
  readonly clientId: string
  /** The user: `sub` of the session's ID tokens. */
  readonly sub: string
  readonly sid: string
}

/** The stored payload, checked field by field (rows outlive code versions). */
function logoutJob(payload: unknown): LogoutJob {
  const fields = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>
  const { clientId, sub, sid } = fields
  if (typeof clientId !== 'string' || typeof sub !== 'string' || typeof sid !== 'string' || sid === '')
    throw new JobRefused('the job names no client, user and session')
  return { clientId, sub, sid }
}

/** One job per client that received tokens in an ended session and has a logout URI. */
export function backchannelLogoutJobs(
  outbox: Pick<Outbox, 'job'>,
  ended: readonly EndedSession[],
  clients: readonly SessionClient[],
): NewOutboxJob[] {
  const sessions = new Map(ended.map((session) => [session.idHash, session]))
  return clients.flatMap(({ sessionIdHash, clientId }) => {
    const session = sessions.get(sessionIdHash)
    if (session === undefined || session.sid === '') return []
    const job: LogoutJob = { clientId, sub: session.userId, sid: session.sid }
    return [outbox.job(BACKCHANNEL_LOGOUT, job)]
  })
}

type HandlerDeps = Pick<Deps, 'config' | 'repos' | 'keys' | 'signer' | 'clock' | 'audit'>

export function backchannelLogoutHandler(deps: HandlerDeps): OutboxHandler {
  return {
    kind: BACKCHANNEL_LOGOUT,

    describe(payload) {
      const { clientId } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>
      return { clientId: typeof clientId === 'string' ? clientId : null }
    },

    async run(payload) {
      const job = logoutJob(payload)
      // The URI as registered now: a client may have changed or removed it since the session ended.
      const client = await deps.repos.clients.find(job.clientId)
      if (!client) throw new JobRefused('the client no longer exists')
      if (client.backchannelLogoutUri === null) throw new JobRefused('the client no longer has a back-channel logout URI')
      const { issuer } = deps.config
      const token = await signJwt(
        deps.signer,
        'logout_token',
        logoutTokenClaims({ issuer, clientId: client.id, subject: job.sub, sid: job.sid, jti: randomId(), now: deps.clock.now() }),
        deps.keys.signingKey(),
      )
      const status = await postForm(
        client.backchannelLogoutUri,
        { logout_token: token },
        {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          // A URI a client chose for itself reaches public addresses only (docs/security.md §I).
          publicAddresses: client.registration === 'cli' ? null : { allowLoopback: isLocalIssuer(issuer) },
        },
      )
      if (status < 200 || status > 299) throw new Error(`the relying party answered HTTP ${status}`)
    },

    async gaveUp(payload, outcome) {
      const fields = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>
      const text = (value: unknown) => (typeof value === 'string' ? value : null)
      await deps.audit.record(
        'backchannel_logout_failed',
        {
          userId: text(fields['sub']),
          clientId: text(fields['clientId']),
          detail: { kind: BACKCHANNEL_LOGOUT, sid: text(fields['sid']), attempts: outcome.attempts, reason: outcome.reason },
        },
        'back-channel logout not delivered; given up',
      )
    },
  }
}
