/**
 * Authentication context classes (OIDC Core §2 `acr`, §3.1.2.1 `acr_values`; RFC 9470 step-up)
 * and the authentication methods behind them (RFC 8176 `amr`), as pure rules.
 *
 *   urn:tessera:pwd  one factor (a password)
 *   urn:tessera:mfa  two factors (a password and an authenticator-app or recovery code)
 *   phr              phishing-resistant: a passkey with user verification (OpenID EAP ACR values)
 *
 * They are ordered: a request for `urn:tessera:mfa` is satisfied by `phr` (a user-verifying
 * passkey is a multi-factor cryptographic authenticator), never the other way round.
 */
import type { AuthenticationMethod } from '../model/authentication.js'

export const ACR_PASSWORD = 'urn:tessera:pwd'
export const ACR_MFA = 'urn:tessera:mfa'
export const ACR_PHISHING_RESISTANT = 'phr'

export type Acr = typeof ACR_PASSWORD | typeof ACR_MFA | typeof ACR_PHISHING_RESISTANT

/** Weakest first: what discovery lists as acr_values_supported. */
export const ACR_VALUES: readonly Acr[] = [ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT]

const LEVEL: Readonly<Record<Acr, number>> = { [ACR_PASSWORD]: 1, [ACR_MFA]: 2, [ACR_PHISHING_RESISTANT]: 3 }

export const isAcr = (value: string): value is Acr => Object.hasOwn(LEVEL, value)

const PASSKEY: readonly AuthenticationMethod[] = ['hwk', 'swk']

/** The context class a set of authentication methods achieves. */
export function acrOf(amr: readonly AuthenticationMethod[]): Acr {
  if (amr.some((method) => PASSKEY.includes(method)) && amr.includes('user')) return ACR_PHISHING_RESISTANT
  const factors = new Set(
    amr.map((method) => (method === 'pwd' ? 'knowledge' : method === 'otp' || PASSKEY.includes(method) ? 'possession' : method)),
  )
  return factors.has('knowledge') && factors.has('possession') ? ACR_MFA : ACR_PASSWORD
}

/** Does `achieved` meet `required` (null: nothing required)? */
export const satisfiesAcr = (achieved: Acr, required: Acr | null): boolean => required === null || LEVEL[achieved] >= LEVEL[required]

/** The stronger of two requirements. */
export const strongerAcr = (a: Acr | null, b: Acr | null): Acr | null => (a === null ? b : b === null ? a : LEVEL[a] >= LEVEL[b] ? a : b)

/**
 * The methods after one more factor succeeded: the union, plus `mfa` once a knowledge factor and
 * a possession factor are both in (RFC 8176 §2).
 */
export function addMethods(amr: readonly AuthenticationMethod[], added: readonly AuthenticationMethod[]): AuthenticationMethod[] {
  const methods = new Set<AuthenticationMethod>([...amr, ...added])
  methods.delete('mfa')
  const result = [...methods]
  const hasPossession = result.some((method) => method === 'otp' || PASSKEY.includes(method))
  if (result.includes('pwd') && hasPossession) result.push('mfa')
  return result
}

/**
 * What an authorization request requires, weakest acceptable class: the weakest of the
 * `acr_values` Tessera knows (they are in order of preference, OIDC Core §3.1.2.1: any one is
 * acceptable), or an essential `acr` of the claims parameter (§5.5.1.1), or the client's policy.
 * Unknown values are ignored.
 */
export function requiredAcr(acrValues: readonly string[], essentialAcr: readonly string[] | null, clientRequiresMfa: boolean): Acr | null {
  const weakest = (values: readonly string[]): Acr | null => {
    const known = values.filter(isAcr)
    return known.length === 0 ? null : known.reduce((a, b) => (LEVEL[a] <= LEVEL[b] ? a : b))
  }
  return strongerAcr(
    strongerAcr(weakest(acrValues), essentialAcr === null ? null : weakest(essentialAcr)),
    clientRequiresMfa ? ACR_MFA : null,
  )
}
