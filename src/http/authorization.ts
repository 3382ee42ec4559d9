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
import type { User } from '../model/user.js'
import type { Client } from '../model/client.js'
import type { FastifyReply } from 'fastify'
import { decideAfterAuthentication, type AuthenticationNeeds, type AuthorizationDecision } from '../oauth/authorize-decision.js'
import { acrForRequest, requiredAcr } from '../oauth/acr.js'
import { factorsOf, hasSecondFactor, reachableAcr } from '../factors/summary.js'
import { startPendingLogin } from './pending-login.js'

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
    amr: session.amr,
    // OIDC Core §5.5.1.1, §3.1.2.1: the tokens say a requested acr the session meets, if any.
    acr: acrForRequest(session.amr, request.acrValues, request.essentialAcr),
    resources: request.resources,
    dpopJkt: request.dpopJkt,
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

/**
 * How strongly this request must be authenticated and what this user can do about it: the
 * requested or required acr, the user's factors, the enrolment policy (client or role), consent.
 * `findUser`: how the user is read (a page hands over the row its language hook read).
 */
export async function authenticationNeeds(
  deps: Deps,
  client: Client,
  request: AuthorizationRequest,
  userId: string,
  findUser: (id: string) => Promise<User | undefined> = (id) => deps.repos.users.findById(id),
): Promise<AuthenticationNeeds> {
  const [user, factors, consentNeeded] = await Promise.all([
    findUser(userId),
    factorsOf(deps, userId),
    consentNeededFor(deps, client, request, userId),
  ])
  const roleRequiresMfa = user !== undefined && user.roles.some((role) => deps.config.mfaRequiredRoles.includes(role))
  return {
    required: requiredAcr(request.acrValues, request.essentialAcr, client.requireMfa),
    essential: request.essentialAcr !== null,
    reachable: reachableAcr(factors),
    mustEnroll: !hasSecondFactor(factors) && (client.requireMfa || roleRequiresMfa),
    consentNeeded,
  }
}

/**
 * Where the browser goes for a decision that is not a code: the second-factor page (step-up:
 * the session adds a factor it has), the enrolment page, or the consent page. `interactionId`
 * is the parked request (made here when there is none yet).
 */
export async function routeDecision(
  deps: Deps,
  reply: FastifyReply,
  decision: AuthorizationDecision,
  request: AuthorizationRequest,
  session: LoginSession,
  interactionId?: string,
): Promise<string> {
  switch (decision.type) {
    case 'issue_code':
      if (interactionId !== undefined) await deps.repos.interactions.remove(interactionId)
      return issueAuthorizationCode(deps, request, session)
    case 'consent':
      return parkForConsent(deps, request, session, interactionId)
    case 'step_up': {
      const id = interactionId ?? (await park(deps, request))
      // The page offers only the factors that reach decision.required (a passkey for phr).
      await startPendingLogin(deps, reply, {
        userId: session.userId,
        amr: session.amr,
        interactionId: id,
        sessionIdHash: session.idHash,
        requiredAcr: decision.required,
      })
      return '/login/second-factor'
    }
    case 'enroll': {
      const id = interactionId ?? (await park(deps, request))
      await deps.repos.interactions.bindSession(id, session.idHash)
      return `/account/second-factor?interaction=${encodeURIComponent(id)}`
    }
    case 'login':
      return `/login?interaction=${encodeURIComponent(interactionId ?? (await park(deps, request)))}`
    case 'error':
      if (interactionId !== undefined) await deps.repos.interactions.remove(interactionId)
      return errorResponseUrl({ redirectUri: request.redirectUri, state: request.state }, deps.config.issuer, decision.error)
  }
}

async function park(deps: Deps, request: AuthorizationRequest): Promise<string> {
  const now = deps.clock.now()
  const id = randomId()
  await deps.repos.interactions.insert(id, request, now, now + deps.config.interactionTtl)
  return id
}

/** Parks the request for the login page; returns the path that continues it. */
export async function parkForLogin(deps: Deps, request: AuthorizationRequest): Promise<string> {
  return `/login?interaction=${encodeURIComponent(await park(deps, request))}`
}

/**
 * Parks the request for the consent page, bound to the session that satisfied its login needs:
 * the consent page completes only interactions bound to the browser's current session.
 */
export async function parkForConsent(
  deps: Deps,
  request: AuthorizationRequest,
  session: LoginSession,
  interactionId?: string,
): Promise<string> {
  const now = deps.clock.now()
  const id = interactionId ?? randomId()
  if (interactionId === undefined) await deps.repos.interactions.insert(id, request, now, now + deps.config.interactionTtl)
  await deps.repos.interactions.bindSession(id, session.idHash)
  return `/consent?interaction=${encodeURIComponent(id)}`
}

/**
 * After the user authenticated interactively (a sign-in, a second factor, an enrolment): enrol,
 * step up, consent, or the code. prompt is not looked at again (prompt=login is satisfied now).
 */
export async function continueAfterLogin(
  deps: Deps,
  reply: FastifyReply,
  interactionId: string,
  request: AuthorizationRequest,
  session: LoginSession,
): Promise<string> {
  const client = await deps.clients.find(request.clientId)
  if (!client) throw new OAuthError('access_denied', 'the application no longer exists')
  const decision = decideAfterAuthentication([], session.amr, await authenticationNeeds(deps, client, request, session.userId))
  return routeDecision(deps, reply, decision, request, session, interactionId)
}

export function accessDeniedUrl(deps: Deps, request: AuthorizationRequest): string {
  return errorResponseUrl(
    { redirectUri: request.redirectUri, state: request.state },
    deps.config.issuer,
    new OAuthError('access_denied', 'the user denied the request'),
  )
}
