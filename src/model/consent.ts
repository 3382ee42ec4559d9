/** What a user approved for a third-party client. */
export interface Consent {
  readonly userId: string
  readonly clientId: string
  readonly scope: string
  readonly updatedAt: number
}
