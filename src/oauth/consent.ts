import type { AuthorizationRequest } from '../model/authorization-request.js'
import type { Client } from '../model/client.js'
/** Consent rules for third-party clients (OIDC Core §3.1.2.4, §11). First-party clients never ask. */

/**
 * What a consent covers: the scopes, and the APIs (RFC 8707 resources) as tokens no scope can be
 * (RFC 6749 §3.3 excludes the backslash from scope tokens), so consent to one API is not consent to another
 * API with a scope of the same name.
 */
const RESOURCE_MARK = '\\'

export function consentItems(scope: string, resources: readonly string[]): string {
  return [...scope.split(' ').filter((item) => item !== ''), ...resources.map((resource) => `${RESOURCE_MARK}${resource}`)].join(' ')
}

/** Does the user still have to approve this request? */
export function needsConsent(client: Client, request: AuthorizationRequest, consented: string | null): boolean {
  if (client.firstParty) return false
  if (request.prompt.includes('consent')) return true
  if (consented === null) return true
  const approved = consented.split(' ')
  return consentItems(request.scope, request.resources)
    .split(' ')
    .some((item) => item !== '' && !approved.includes(item))
}

const DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (a stable identifier, not your email)',
  profile: 'See your name',
  email: 'See your email address and whether it is verified',
  roles: 'See the roles your administrator gave you',
  offline_access: 'Stay connected to your account while you are away',
}

/**
 * Plain-words descriptions of scopes, for the consent page and the account page; an API's scopes
 * (`apiScopes`: name → description, from the APIs the request names) in the API's own words.
 */
export function describeScopes(
  scope: string,
  apiScopes: ReadonlyMap<string, string> = new Map(),
  t?: (key: string, values?: Readonly<Record<string, string>>) => string,
): string[] {
  return scope
    .split(' ')
    .filter((s) => s !== '' && !s.startsWith(RESOURCE_MARK))
    .map((s) => {
      // In the page's language when a translator is given (messages scopes.<name>, scopes.other).
      if (s in DESCRIPTIONS) return t ? t(`scopes.${s}`) : DESCRIPTIONS[s]!
      return apiScopes.get(s) ?? (t ? t('scopes.other', { scope: s }) : `Access “${s}”`)
    })
}
