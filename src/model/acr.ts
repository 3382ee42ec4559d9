/**
 * The authentication context classes Tessera issues (OIDC Core §2 `acr`), as storage and the
 * rules both see them; their order and what achieves each are rules, in oauth/acr.ts.
 */
export const ACR_PASSWORD = 'urn:tessera:pwd'
export const ACR_MFA = 'urn:tessera:mfa'
export const ACR_PHISHING_RESISTANT = 'phr'

export type Acr = typeof ACR_PASSWORD | typeof ACR_MFA | typeof ACR_PHISHING_RESISTANT

/** Weakest first: what discovery lists as acr_values_supported. */
export const ACR_VALUES: readonly Acr[] = [ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT]

export const isAcr = (value: string): value is Acr => (ACR_VALUES as readonly string[]).includes(value)

/** As stored (a column that may be null); anything unknown is dropped rather than trusted. */
export const parseAcr = (raw: string | null | undefined): Acr | null => (raw != null && isAcr(raw) ? raw : null)
