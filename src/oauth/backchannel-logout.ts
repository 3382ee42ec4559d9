/**
 * OpenID Connect Back-Channel Logout 1.0 as pure rules: which URIs a client may register for it,
 * and the claims of the logout token Tessera POSTs there when a session the client received
 * tokens in ends.
 */
import type { JWTPayload } from 'jose'
import { checkWebUrl, isLocalIssuer } from './web-url.js'
import { ruleProblem, type ProblemWords, type RuleProblem } from './rule-problem.js'
import { REDIRECT_URI_PROBLEMS } from './redirect-uri.js'

/** §2.4: the member of `events` that makes a JWT a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Logout tokens are signed when sent (each attempt signs anew), so a short life is enough. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120

export interface LogoutTokenInput {
  readonly issuer: string
  readonly clientId: string
  /** The user's id: the same `sub` as the ID tokens of the session. */
  readonly subject: string
  /** The session's public id: the same `sid` as its ID tokens. */
  readonly sid: string
  readonly jti: string
  readonly now: number
  readonly ttl?: number
}

/**
 * §2.4: iss, aud, iat, exp, jti, events, and sub and sid (Tessera always sends both, so a client
 * registered with backchannel_logout_session_required gets what it asked for); never a nonce.
 */
export function logoutTokenClaims(input: LogoutTokenInput): JWTPayload {
  return {
    iss: input.issuer,
    aud: input.clientId,
    iat: input.now,
    exp: input.now + (input.ttl ?? LOGOUT_TOKEN_TTL_SECONDS),
    jti: input.jti,
    sub: input.subject,
    sid: input.sid,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  }
}

export interface LogoutUriContext {
  /** Tessera's issuer: plain http (on a loopback host) only while it is itself on localhost. */
  readonly issuer: string
  /**
   * The client described itself (RFC 7591, a metadata document): loopback hosts only while the
   * issuer is on localhost, like the documents Tessera fetches (deliveries go to public addresses only).
   */
  readonly selfDescribed: boolean
}

/** Why a back-channel logout URI is refused (RuleProblem): the English words of each reason. */
export const LOGOUT_URI_PROBLEMS = {
  logout_uri_not_absolute: 'must be an absolute https URL',
  logout_uri_loopback: 'must not be on a loopback host (only while the issuer is on localhost)',
  logout_uri_not_https_local: 'must be https (http only on a loopback host)',
  logout_uri_not_https: 'must be https (http only on a loopback host while the issuer is on localhost)',
  // The same reasons, in the same words, as for redirect URIs.
  uri_fragment: REDIRECT_URI_PROBLEMS.uri_fragment,
  uri_credentials: REDIRECT_URI_PROBLEMS.uri_credentials,
} as const satisfies ProblemWords<string>

export type LogoutUriProblem = RuleProblem<keyof typeof LOGOUT_URI_PROBLEMS>

/**
 * §2.2: where the client wants logout tokens. https; http only on a loopback host and only while
 * the issuer is on localhost or 127.0.0.1 (local development); no fragment, no credentials.
 * Returns what is wrong, or null.
 */
export function backchannelLogoutUriProblem(uri: string, context: LogoutUriContext): LogoutUriProblem | null {
  const refused = (reason: keyof typeof LOGOUT_URI_PROBLEMS) => ruleProblem(LOGOUT_URI_PROBLEMS, reason)
  const local = isLocalIssuer(context.issuer)
  const { url, problem } = checkWebUrl(uri, { loopback: !context.selfDescribed || local, loopbackHttp: local })
  if (problem === 'not_absolute') return refused('logout_uri_not_absolute')
  if (problem === 'loopback') return refused('logout_uri_loopback')
  if (url === null) return refused(local ? 'logout_uri_not_https_local' : 'logout_uri_not_https')
  if (url.hash !== '' || uri.includes('#')) return refused('uri_fragment')
  if (url.username !== '' || url.password !== '') return refused('uri_credentials')
  return null
}
