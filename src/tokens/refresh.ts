import type { Deps } from '../deps.js'
import type { Grant } from '../model/grant.js'
import type { NewRefreshToken } from '../model/refresh-token.js'
import { hashSecret, randomToken } from '../secrets.js'

/** A refresh token before it is stored: the raw value for the client, and the row (its hash) to keep. */
export interface MintedRefreshToken {
  readonly token: string
  readonly stored: NewRefreshToken
}

/**
 * A new opaque refresh token in a grant's family, not yet stored: it is written in the same
 * transaction as what it belongs to (the grant that starts the family, or the rotation of its
 * predecessor), so one commit covers both.
 */
export function mintRefreshToken(
  deps: Pick<Deps, 'config' | 'clock'>,
  grantId: string,
  clientId: string,
  familyExpiresAt: number,
): MintedRefreshToken {
  const now = deps.clock.now()
  const token = randomToken()
  return {
    token,
    stored: {
      tokenHash: hashSecret(token),
      grantId,
      clientId,
      createdAt: now,
      // Idle expiry never outlives the family's absolute expiry.
      idleExpiresAt: Math.min(now + deps.config.refreshTokenIdleTtl, familyExpiresAt),
    },
  }
}

/** The first refresh token of a new grant: only an offline grant (one with a family end) has one. */
export function firstRefreshToken(deps: Pick<Deps, 'config' | 'clock'>, grant: Grant): MintedRefreshToken | null {
  return grant.offline && grant.expiresAt !== null ? mintRefreshToken(deps, grant.id, grant.clientId, grant.expiresAt) : null
}
