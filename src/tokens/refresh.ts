import type { Deps } from '../deps.js'
import { hashSecret, randomToken } from '../secrets.js'

/** A new opaque refresh token in the grant's family; only its hash is stored. */
export async function issueRefreshToken(
  deps: Pick<Deps, 'repos' | 'config' | 'clock'>,
  grantId: string,
  clientId: string,
  familyExpiresAt: number,
): Promise<string> {
  const now = deps.clock.now()
  const token = randomToken()
  await deps.repos.refreshTokens.insert({
    tokenHash: hashSecret(token),
    grantId,
    clientId,
    createdAt: now,
    // Idle expiry never outlives the family's absolute expiry.
    idleExpiresAt: Math.min(now + deps.config.refreshTokenIdleTtl, familyExpiresAt),
  })
  return token
}
