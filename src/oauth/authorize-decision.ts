/** What /authorize does next for a valid request, given the browser's session (OIDC Core §3.1.2.3). */
import { OAuthError } from '../errors/oauth-error.js'
import { requiresReauthentication } from './authorize-request.js'
import { type AuthorizationRequest } from '../model/authorization-request.js'

export type AuthorizationDecision =
  | { readonly type: 'issue_code' }
  | { readonly type: 'login' }
  | { readonly type: 'consent' }
  | { readonly type: 'error'; readonly error: OAuthError }

export interface DecisionInput {
  readonly request: AuthorizationRequest
  readonly session: { readonly userId: string; readonly authTime: number } | undefined
  readonly now: number
  /** `sub` of a valid id_token_hint, when one was sent. */
  readonly hintSubject: string | null
  /** Whether the (third-party) client still needs the user's approval; see oauth/consent.ts. */
  readonly consentNeeded: boolean
}

export function decideAuthorization({ request, session, now, hintSubject, consentNeeded }: DecisionInput): AuthorizationDecision {
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
  if (consentNeeded) {
    return request.prompt.includes('none')
      ? { type: 'error', error: new OAuthError('consent_required', 'the user must approve this application') }
      : { type: 'consent' }
  }
  return { type: 'issue_code' }
}
