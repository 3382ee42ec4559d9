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
import { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, isAcr, type Acr } from '../model/acr.js'
import type { AuthenticationMethod } from '../model/authentication.js'

// The classes themselves live in model/acr.ts (storage keeps them too); the rules are here.
export { ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_VALUES, parseAcr, type Acr } from '../model/acr.js'

const LEVEL: Readonly<Record<Acr, number>> = { [ACR_PASSWORD]: 1, [ACR_MFA]: 2, [ACR_PHISHING_RESISTANT]: 3 }

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

/** Would adding `added` to `amr` reach `required` (null: anything does)? Which factors a step-up may offer. */
export const reachesAcr = (amr: readonly AuthenticationMethod[], added: readonly AuthenticationMethod[], required: Acr | null): boolean =>
  satisfiesAcr(acrOf(addMethods(amr, added)), required)

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

/**
 * OIDC Core §5.5.1.1: an essential `acr` with values is met only by returning one of them, and
 * Tessera returns only its own classes. When none of the values is one (all unknown here), the
 * requirement can never be met: the request fails with `unmet_authentication_requirements`
 * ("OpenID Connect Core Error Code unmet_authentication_requirements 1.0" §1: it SHALL be used
 * when an essential acr cannot be met) rather than being ignored.
 */
export const essentialAcrUnmeetable = (essentialAcr: readonly string[] | null): boolean =>
  essentialAcr !== null && !essentialAcr.some(isAcr)

/**
 * The `acr` the tokens of an authorization carry: one of the values the client asked for that
 * the session meets, so a client checking "did I get what I asked?" finds its own value.
 *
 * - An essential `acr` with values (§5.5.1.1): the AS MUST return one of them; the decision
 *   refused the request when the session met none, so one is found here.
 * - `acr_values` (§3.1.2.1, voluntary, in order of preference): the first the session meets.
 * - Otherwise, or when the session met none of the voluntary values: what the session achieved
 *   (§5.5.1.1: "SHOULD return the session's current acr").
 *
 * Never more than achieved: a requested value is returned only when `acrOf(amr)` satisfies it.
 */
export function acrForRequest(
  amr: readonly AuthenticationMethod[],
  acrValues: readonly string[],
  essentialAcr: readonly string[] | null,
): Acr {
  const achieved = acrOf(amr)
  const met = (values: readonly string[]): Acr | undefined => values.filter(isAcr).find((value) => satisfiesAcr(achieved, value))
  return (essentialAcr === null ? undefined : met(essentialAcr)) ?? met(acrValues) ?? achieved
}
