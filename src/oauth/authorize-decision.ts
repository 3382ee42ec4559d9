/** What /authorize does next for a valid request, given the browser's session (OIDC Core §3.1.2.3). */
import { OAuthError } from '../errors/oauth-error.js'
import type { AuthenticationMethod } from '../model/authentication.js'
import type { AuthorizationRequest } from '../model/authorization-request.js'
import { acrOf, essentialAcrUnmeetable, satisfiesAcr, type Acr } from './acr.js'
import { requiresReauthentication } from './authorize-request.js'

export type AuthorizationDecision =
  | { readonly type: 'issue_code' }
  | { readonly type: 'login' }
  | { readonly type: 'consent' }
  /** The session must add a factor the user has (RFC 9470 step-up), not sign in from scratch. */
  | { readonly type: 'step_up'; readonly required: Acr }
  /** The user must set up a second factor first (client policy or MFA_REQUIRED_ROLES). */
  | { readonly type: 'enroll' }
  | { readonly type: 'error'; readonly error: OAuthError }

/** How strongly a request must be authenticated, and what the user could achieve. */
export interface AuthenticationNeeds {
  /** The weakest acceptable class (oauth/acr.ts requiredAcr); null when nothing is asked. */
  readonly required: Acr | null
  /** An unmet requirement fails the request (an essential acr) instead of yielding a lower acr. */
  readonly essential: boolean
  /** The strongest class the user's registered factors can reach. */
  readonly reachable: Acr
  /** Policy says the user must have a second factor and they have none yet. */
  readonly mustEnroll: boolean
  /** Whether the (third-party) client still needs the user's approval; see oauth/consent.ts. */
  readonly consentNeeded: boolean
}

export interface DecisionInput extends AuthenticationNeeds {
  readonly request: AuthorizationRequest
  readonly session: { readonly userId: string; readonly authTime: number; readonly amr: readonly AuthenticationMethod[] } | undefined
  readonly now: number
  /** `sub` of a valid id_token_hint, when one was sent. */
  readonly hintSubject: string | null
}

export function decideAuthorization(input: DecisionInput): AuthorizationDecision {
  const { request, session, now, hintSubject } = input
  // OIDC Core §5.5.1.1: an essential acr naming only classes Tessera never issues can never be
  // met, whoever signs in: fail at once rather than after a sign-in (or by ignoring it).
  if (essentialAcrUnmeetable(request.essentialAcr))
    return {
      type: 'error',
      error: new OAuthError(
        'unmet_authentication_requirements',
        'none of the essential acr values is supported (see acr_values_supported)',
      ),
    }
  const mustLogin =
    session === undefined ||
    requiresReauthentication(request, session.authTime, now) ||
    (hintSubject !== null && hintSubject !== session.userId)
  if (mustLogin) {
    // prompt=none never renders a page.
    return request.prompt.includes('none')
      ? { type: 'error', error: new OAuthError('login_required', 'the user must sign in') }
      : { type: 'login' }
  }
  return decideAfterAuthentication(request.prompt, session.amr, input)
}

/**
 * Once the user is known (a live session, or a sign-in just completed): enrol, step up, consent,
 * or the code. `prompt` is the request's; after an interactive sign-in pass [] so nothing loops.
 */
export function decideAfterAuthentication(
  prompt: AuthorizationRequest['prompt'],
  amr: readonly AuthenticationMethod[],
  needs: AuthenticationNeeds,
): AuthorizationDecision {
  const silent = prompt.includes('none')
  const interaction = (why: string): AuthorizationDecision => ({ type: 'error', error: new OAuthError('interaction_required', why) })
  if (needs.mustEnroll) return silent ? interaction('the user must set up a second factor') : { type: 'enroll' }
  const { required } = needs
  if (required !== null && !satisfiesAcr(acrOf(amr), required)) {
    if (satisfiesAcr(needs.reachable, required))
      return silent ? interaction('the user must confirm a second factor') : { type: 'step_up', required }
    // OIDC Core §5.5.1.1: an essential acr that cannot be met fails; acr_values are a preference.
    if (needs.essential)
      return {
        type: 'error',
        error: new OAuthError('unmet_authentication_requirements', 'the user cannot authenticate as strongly as requested'),
      }
  }
  if (needs.consentNeeded) {
    return silent
      ? { type: 'error', error: new OAuthError('consent_required', 'the user must approve this application') }
      : { type: 'consent' }
  }
  return { type: 'issue_code' }
}
