/** One opaque refresh token of a family (a grant); only its hash is stored. */
export interface RefreshToken {
  readonly tokenHash: string
  readonly grantId: string
  readonly clientId: string
  readonly createdAt: number
  readonly idleExpiresAt: number
  readonly usedAt: number | null
}

/** A refresh token about to be stored: not used yet. */
export type NewRefreshToken = Omit<RefreshToken, 'usedAt'>
