/** OpenID Connect RP-Initiated Logout 1.0 §2–3 rules, as pure functions. */
import { OAuthError } from '../errors/oauth-error.js'
import { appendQuery } from './authorize-request.js'
import type { Client } from '../model/client.js'

export interface HintClaims {
  readonly sub: string
  readonly aud: string | readonly string[] | undefined
}

/** The client the request speaks for: from the id_token_hint's aud, or client_id; both must agree. */
export function logoutClientId(hint: HintClaims | null, clientIdParam: string | undefined): string | undefined {
  const audiences = hint === null ? [] : typeof hint.aud === 'string' ? [hint.aud] : [...(hint.aud ?? [])]
  if (clientIdParam !== undefined && audiences.length > 0 && !audiences.includes(clientIdParam)) {
    throw new OAuthError('invalid_request', 'client_id does not match the id_token_hint')
  }
  return clientIdParam ?? audiences[0]
}

/** Only a post_logout_redirect_uri registered for that client, byte for byte; otherwise no redirect. */
export function postLogoutRedirect(client: Client | undefined, requested: string | undefined): string | null {
  if (client === undefined || requested === undefined) return null
  return client.postLogoutRedirectUris.includes(requested) ? requested : null
}

export function postLogoutUrl(redirectUri: string, state: string | undefined): string {
  return state === undefined ? redirectUri : appendQuery(redirectUri, new URLSearchParams({ state }))
}
