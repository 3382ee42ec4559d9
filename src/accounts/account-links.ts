/**
 * Single-use links sent by mail. The token is 256 random bits; only its hash is stored. Links are
 * built from the configured issuer, never from request headers (docs/security.md §H).
 */
import type { AccountTokenPurpose, AccountTokensRepository } from '../db/repositories/account-tokens.js'
import { hashSecret, randomToken } from '../secrets.js'

export const LINK_PATHS: Readonly<Record<AccountTokenPurpose, string>> = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
}

export interface AccountLinkInput {
  readonly issuer: string
  readonly userId: string
  readonly purpose: AccountTokenPurpose
  readonly now: number
  readonly ttl: number
}

/** Issues a token (voiding the user's older ones of this purpose) and returns the full link. */
export async function createAccountLink(tokens: AccountTokensRepository, input: AccountLinkInput): Promise<string> {
  const token = randomToken()
  await tokens.issue({ tokenHash: hashSecret(token), userId: input.userId, purpose: input.purpose, now: input.now, ttl: input.ttl })
  const url = new URL(LINK_PATHS[input.purpose], `${input.issuer}/`)
  url.searchParams.set('token', token)
  return url.href
}
