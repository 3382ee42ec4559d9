/** One opaque refresh token from before generations (tokens/refresh.ts); only its hash is stored. */
export interface RefreshToken {
  readonly tokenHash: string
  readonly grantId: string
  readonly clientId: string
  readonly createdAt: number
  readonly idleExpiresAt: number
  readonly usedAt: number | null
}
