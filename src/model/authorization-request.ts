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
  /** OIDC Core §3.1.2.1 acr_values, in order of preference (any one is acceptable). */
  readonly acrValues: readonly string[]
  /** The acr values of an essential `acr` in the claims parameter (§5.5.1.1); null when none. */
  readonly essentialAcr: readonly string[] | null
  /** RFC 8707 resource indicators: the APIs the tokens of this authorization may be for. */
  readonly resources: readonly string[]
  /** RFC 9449 §10: the thumbprint of the DPoP key the code must be redeemed with (dpop_jkt, or the PAR request's proof). */
  readonly dpopJkt: string | null
  /**
   * OIDC Core §3.1.2.1 ui_locales, as sent (space-separated BCP 47 tags): the language of the
   * pages of this sign-in. Optional: interactions stored by earlier versions have none.
   */
  readonly uiLocales?: string | null
}
