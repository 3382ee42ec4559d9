export type Prompt = 'none' | 'login' | 'consent' | 'select_account'

/** A fully validated request, JSON-serialisable so it can wait in the interactions table. */
export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly scope: string
  readonly state: string | null
  readonly nonce: string | null
  readonly codeChallenge: string | null
  readonly prompt: readonly Prompt[]
  readonly maxAge: number | null
  readonly loginHint: string | null
  readonly idTokenHint: string | null
}
