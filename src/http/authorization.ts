/**
 * The end of a successful authorization: a single-use code bound to client, redirect_uri, PKCE
 * challenge, nonce, scope and session, delivered by redirect with state and iss.
 */
import type { Deps } from '../deps.js'
import type { LoginSession } from '../db/repositories/sessions.js'
import { authorizationResponseUrl, type AuthorizationRequest } from '../oauth/authorize-request.js'
import { hashSecret, randomToken } from '../secrets.js'

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
