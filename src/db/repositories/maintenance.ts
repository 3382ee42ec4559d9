import type { Db } from '../connect.js'

export interface PruneCounts {
  readonly codes: number
  readonly interactions: number
  readonly sessions: number
  /** Rows of access tokens issued before tokens stopped being recorded one by one. */
  readonly accessTokens: number
  /** Revocations of tokens that have expired since. */
  readonly revokedAccessTokens: number
  readonly refreshTokens: number
  readonly grants: number
  readonly accountTokens: number
  readonly pendingLogins: number
  readonly webauthnChallenges: number
  readonly clientAssertions: number
  readonly dpopProofs: number
  readonly pushedRequests: number
  readonly registrationTokens: number
  readonly deviceCodes: number
  readonly outbox: number
  /** Sign-ins sent to an upstream and upstream identities waiting to be linked, once expired. */
  readonly upstreamLogins: number
  /** Admin API idempotency keys past their day. */
  readonly idempotencyKeys: number
}

/** Rows deleted per statement: short write locks, so requests keep flowing while a backlog is pruned. */
export const PRUNE_BATCH = 2000

/** Repeats one bounded delete until it comes back short, yielding to the event loop in between. */
async function deleteInBatches(deleteBatch: () => Promise<{ numDeletedRows: bigint }>): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = Number((await deleteBatch()).numDeletedRows)
    total += deleted
    if (deleted < PRUNE_BATCH) return total
    // better-sqlite3 runs each statement synchronously on the event loop.
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * Deletes rows that can no longer matter, so storage does not grow without bound. `graceSeconds`
 * keeps recently-dead codes, refresh tokens and sessions a little longer (code-replay and
 * refresh-reuse detection stay possible for a while after expiry). Access-token rows (tokens of
 * the earlier format) and revocations of single tokens go as soon as the token has expired: an
 * expired JWT is refused on its own.
 */
export async function pruneExpired(
  db: Db,
  now: number,
  graceSeconds: number,
  sessionIdleSeconds?: number,
  shortGrantAgeSeconds = graceSeconds,
): Promise<PruneCounts> {
  const cutoff = now - graceSeconds
  // A grant without refresh tokens is dead once its access tokens have expired (they are gone by
  // then); the age guard keeps a grant whose first access token is still being written.
  const shortGrantCutoff = now - shortGrantAgeSeconds
  // Sessions idle for longer than the idle timeout are dead even before their absolute expiry.
  const idleCutoff = sessionIdleSeconds === undefined ? null : cutoff - sessionIdleSeconds
  const codes = await deleteInBatches(() =>
    db
      .deleteFrom('authorization_codes')
      .where(
        'code_hash',
        'in',
        db.selectFrom('authorization_codes').select('code_hash').where('expires_at', '<', cutoff).limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  const interactions = await deleteInBatches(() =>
    db
      .deleteFrom('interactions')
      .where('id', 'in', db.selectFrom('interactions').select('id').where('expires_at', '<', cutoff).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  const sessions = await deleteInBatches(() =>
    db
      .deleteFrom('sessions')
      .where(
        'id_hash',
        'in',
        db
          .selectFrom('sessions')
          .select('id_hash')
          .where((eb) =>
            eb.or([
              eb('expires_at', '<', cutoff),
              eb('ended_at', '<', cutoff),
              ...(idleCutoff === null ? [] : [eb('last_seen_at', '<', idleCutoff)]),
            ]),
          )
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  const accessTokens = await deleteInBatches(() =>
    db
      .deleteFrom('access_tokens')
      .where('jti', 'in', db.selectFrom('access_tokens').select('jti').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  // A revocation is remembered only while the token could still be used.
  const revokedAccessTokens = await deleteInBatches(() =>
    db
      .deleteFrom('revoked_access_tokens')
      .where('jti', 'in', db.selectFrom('revoked_access_tokens').select('jti').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  const refreshTokens = await deleteInBatches(() =>
    db
      .deleteFrom('refresh_tokens')
      .where(
        'token_hash',
        'in',
        db.selectFrom('refresh_tokens').select('token_hash').where('idle_expires_at', '<', cutoff).limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  // A grant goes once it is dead (revoked or past its absolute end, or never had refresh tokens
  // and is older than any access token), nothing refers to it any more, and its login session
  // has ended: until then the grant is the record that its client received tokens in that
  // session, and must get a back-channel logout token when it ends.
  const grants = await deleteInBatches(() =>
    db
      .deleteFrom('grants')
      .where(
        'id',
        'in',
        db
          .selectFrom('grants')
          .select('id')
          .where((eb) =>
            eb.and([
              eb.or([
                eb('revoked_at', '<', cutoff),
                eb('expires_at', '<', cutoff),
                eb.and([eb('expires_at', 'is', null), eb('created_at', '<', shortGrantCutoff)]),
              ]),
              eb.not(
                eb.exists(
                  eb.selectFrom('refresh_tokens').select('refresh_tokens.token_hash').whereRef('refresh_tokens.grant_id', '=', 'grants.id'),
                ),
              ),
              eb.not(
                eb.exists(eb.selectFrom('access_tokens').select('access_tokens.jti').whereRef('access_tokens.grant_id', '=', 'grants.id')),
              ),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('sessions')
                    .select('sessions.id_hash')
                    .whereRef('sessions.id_hash', '=', 'grants.session_id_hash')
                    .where('sessions.ended_at', 'is', null),
                ),
              ),
            ]),
          )
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  const accountTokens = await deleteInBatches(() =>
    db
      .deleteFrom('account_tokens')
      .where('token_hash', 'in', db.selectFrom('account_tokens').select('token_hash').where('expires_at', '<', cutoff).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  // Waiting second factors and WebAuthn challenges live minutes; once expired they are worthless.
  const pendingLogins = await deleteInBatches(() =>
    db
      .deleteFrom('pending_logins')
      .where('id_hash', 'in', db.selectFrom('pending_logins').select('id_hash').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  const webauthnChallenges = await deleteInBatches(() =>
    db
      .deleteFrom('webauthn_challenges')
      .where('challenge', 'in', db.selectFrom('webauthn_challenges').select('challenge').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  // A client assertion's jti must be remembered only until the assertion expires (RFC 7523 §3).
  const clientAssertions = await deleteInBatches(() =>
    db
      .deleteFrom('client_assertions')
      .where('jti_hash', 'in', db.selectFrom('client_assertions').select('jti_hash').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  // DPoP proof ids only matter while a proof could still be accepted (RFC 9449 §11.1).
  const dpopProofs = await deleteInBatches(() =>
    db
      .deleteFrom('dpop_proofs')
      .where('jti_hash', 'in', db.selectFrom('dpop_proofs').select('jti_hash').where('expires_at', '<', now).limit(PRUNE_BATCH))
      .executeTakeFirst(),
  )
  const pushedRequests = await deleteInBatches(() =>
    db
      .deleteFrom('pushed_requests')
      .where(
        'request_uri_hash',
        'in',
        db.selectFrom('pushed_requests').select('request_uri_hash').where('expires_at', '<', now).limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  const registrationTokens = await deleteInBatches(() =>
    db
      .deleteFrom('registration_tokens')
      .where(
        'token_hash',
        'in',
        db
          .selectFrom('registration_tokens')
          .select('token_hash')
          .where('expires_at', 'is not', null)
          .where('expires_at', '<', now)
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  // RFC 8628 device codes: kept for the grace period after expiry, like authorization codes, so a
  // replayed device code is still recognised for a while.
  const deviceCodes = await deleteInBatches(() =>
    db
      .deleteFrom('device_codes')
      .where(
        'device_code_hash',
        'in',
        db.selectFrom('device_codes').select('device_code_hash').where('expires_at', '<', cutoff).limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  const upstreamLogins =
    (await deleteInBatches(() =>
      db
        .deleteFrom('upstream_logins')
        .where('id_hash', 'in', db.selectFrom('upstream_logins').select('id_hash').where('expires_at', '<', now).limit(PRUNE_BATCH))
        .executeTakeFirst(),
    )) +
    (await deleteInBatches(() =>
      db
        .deleteFrom('pending_links')
        .where('id_hash', 'in', db.selectFrom('pending_links').select('id_hash').where('expires_at', '<', now).limit(PRUNE_BATCH))
        .executeTakeFirst(),
    ))
  // An idempotency key only replays within its lifetime (a day); after that it is dead weight.
  const idempotencyKeys = await deleteInBatches(() =>
    db
      .deleteFrom('idempotency_keys')
      .where((eb) =>
        eb(
          eb.refTuple('actor', 'key'),
          'in',
          eb
            .selectFrom('idempotency_keys')
            .select(['actor', 'key'])
            .where('expires_at', '<=', now)
            .limit(PRUNE_BATCH)
            .$asTuple('actor', 'key'),
        ),
      )
      .executeTakeFirst(),
  )
  // Outbox jobs done or given up are kept for the grace period (to be looked at), then go.
  const outbox = await deleteInBatches(() =>
    db
      .deleteFrom('outbox')
      .where(
        'id',
        'in',
        db
          .selectFrom('outbox')
          .select('id')
          .where((eb) => eb.or([eb('delivered_at', '<', cutoff), eb('failed_at', '<', cutoff)]))
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst(),
  )
  return {
    codes,
    interactions,
    sessions,
    accessTokens,
    revokedAccessTokens,
    refreshTokens,
    grants,
    accountTokens,
    pendingLogins,
    webauthnChallenges,
    clientAssertions,
    dpopProofs,
    pushedRequests,
    registrationTokens,
    deviceCodes,
    outbox,
    upstreamLogins,
    idempotencyKeys,
  }
}
