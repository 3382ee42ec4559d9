import type { AuthorizationRequest } from '../model/authorization-request.js'
import type { Client } from '../model/client.js'
/** Consent rules for third-party clients (OIDC Core §3.1.2.4, §11). First-party clients never ask. */

/** Does the user still have to approve this request? */
export function needsConsent(client: Client, request: AuthorizationRequest, consentedScope: string | null): boolean {
  if (client.firstParty) return false
  if (request.prompt.includes('consent')) return true
  if (consentedScope === null) return true
  const approved = consentedScope.split(' ')
  return request.scope.split(' ').some((scope) => scope !== '' && !approved.includes(scope))
}

const DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (a stable identifier, not your email)',
  profile: 'See your name',
  email: 'See your email address and whether it is verified',
  roles: 'See the roles your administrator gave you',
  offline_access: 'Stay connected to your account while you are away',
}

/** Plain-words descriptions of scopes, for the consent page and the account page. */
export function describeScopes(scope: string): string[] {
  return scope
    .split(' ')
    .filter((s) => s !== '')
    .map((s) => DESCRIPTIONS[s] ?? `Access “${s}”`)
}
