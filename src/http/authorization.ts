/**
 * The end of an authorization once the user is known: either the consent page (third-party
 * clients) or a single-use code bound to client, redirect_uri, PKCE challenge, nonce, scope and
 * session, delivered by redirect with state and iss.
 */
import type { Deps } from '../deps.js'
import { authorizationResponseUrl, errorResponseUrl } from '../oauth/authorize-request.js'
import { needsConsent } from '../oauth/consent.js'
import { OAuthError } from '../errors/oauth-error.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'
import type { LoginSession } from '../model/session.js'
import { type AuthorizationRequest } from '../model/authorization-request.js'
import type { Client } from '../model/client.js'

export async function issueAuthorizationCode(deps: Deps, request: AuthorizationRequest, session: LoginSession): Promise<string> {
  const now = deps.clock.now()
  const code = randomToken()
  await deps.repos.codes.insert({
    codeHash: hashSecret(code),
    clientId: request.clientId,
    userId: session.userId,
    sessionIdHash: session.idHash,
    redirectUri: request.redirectUri,
    scope: request.scope,
    nonce: request.nonce,
    codeChallenge: request.codeChallenge,
    authTime: session.authTime,
    createdAt: now,
    expiresAt: now + deps.config.codeTtl,
  })
  deps.log.info({ event: 'authorization_code_issued', clientId: request.clientId, userId: session.userId }, 'authorization code issued')
  return authorizationResponseUrl({ redirectUri: request.redirectUri, state: request.state }, deps.config.issuer, { code })
}

/** Does this user still owe this client a consent decision? */
export async function consentNeededFor(deps: Deps, client: Client, request: AuthorizationRequest, userId: string): Promise<boolean> {
  if (client.firstParty) return false
  const consent = await deps.repos.consents.find(userId, client.id)
  return needsConsent(client, request, consent?.scope ?? null)
}

/** Parks the request for the login page; returns the path that continues it. */
export async function parkForLogin(deps: Deps, request: AuthorizationRequest): Promise<string> {
  const now = deps.clock.now()
  const id = randomId()
  await deps.repos.interactions.insert(id, request, now, now + deps.config.interactionTtl)
  return `/login?interaction=${encodeURIComponent(id)}`
}

/**
 * Parks the request for the consent page, bound to the session that satisfied its login needs:
 * the consent page completes only interactions bound to the browser's current session.
 */
export async function parkForConsent(deps: Deps, request: AuthorizationRequest, session: LoginSession, interactionId?: string): Promise<string> {
  const now = deps.clock.now()
  const id = interactionId ?? randomId()
  if (interactionId === undefined) await deps.repos.interactions.insert(id, request, now, now + deps.config.interactionTtl)
  await deps.repos.interactions.bindSession(id, session.idHash)
  return `/consent?interaction=${encodeURIComponent(id)}`
}

/** After a successful login: consent page if needed, else the code. Returns the redirect target. */
export async function continueAfterLogin(deps: Deps, interactionId: string, request: AuthorizationRequest, session: LoginSession): Promise<string> {
  const client = await deps.repos.clients.find(request.clientId)
  if (!client) throw new OAuthError('access_denied', 'the application no longer exists')
  if (await consentNeededFor(deps, client, request, session.userId)) return parkForConsent(deps, request, session, interactionId)
  await deps.repos.interactions.remove(interactionId)
  return issueAuthorizationCode(deps, request, session)
}

export function accessDeniedUrl(deps: Deps, request: AuthorizationRequest): string {
  return errorResponseUrl({ redirectUri: request.redirectUri, state: request.state }, deps.config.issuer, new OAuthError('access_denied', 'the user denied the request'))
}
