/**
 * /authorize (GET and POST): identify client and redirect_uri (else an error page, never a
 * redirect) → validate the rest (errors redirected with state and iss) → decide from the session
 * → issue a code, ask for login, or redirect an error.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.js'
import { OAuthError, UnsafeAuthorizeError } from '../../errors/oauth-error.js'
import { decideAuthorization, type AuthenticationNeeds } from '../../oauth/authorize-decision.js'
import { errorResponseUrl, identifyClient, validateAuthorizationRequest, type RedirectTarget } from '../../oauth/authorize-request.js'
import { single, type RawParams } from '../../oauth/params.js'
import { TokenInvalid, verifyIdToken } from '../../tokens/verify.js'
import { authenticationNeeds, parkForLogin, routeDecision } from '../authorization.js'
import { AuthorizeParams } from '../schemas.js'
import { requestedApis } from '../../apis/resources.js'
import { currentSession } from '../session-cookie.js'
import { REQUEST_URI_PREFIX, takePushedRequest } from '../../par/pushed-requests.js'
import { type AuthorizationRequest } from '../../model/authorization-request.js'
import { readOnce } from '../page-reads.js'

/** Before anyone signed in, nothing about the user is known yet: the login page comes first. */
const NO_NEEDS: AuthenticationNeeds = {
  required: null,
  essential: false,
  reachable: 'urn:tessera:pwd',
  mustEnroll: false,
  consentNeeded: false,
}

export const authorizeRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  async function authorize(received: RawParams, request: FastifyRequest, reply: FastifyReply) {
    // RFC 9126 §4: a pushed request's parameters, and only those, make the request. Other
    // request_uri values (request objects by reference) stay unsupported.
    const requestUri = single(received, 'request_uri')
    const pushed = requestUri !== undefined && requestUri.startsWith(REQUEST_URI_PREFIX)
    const params = pushed ? await takePushedRequest(deps, requestUri, single(received, 'client_id')) : received
    const clientId = single(params, 'client_id')
    const registered = clientId === undefined || Array.isArray(params['client_id']) ? undefined : await findClient(clientId)
    const { client, target } = identifyClient(params, () => registered)
    try {
      if (!pushed && (client.requirePar || deps.config.requirePar === 'on'))
        throw new OAuthError('invalid_request', 'authorization requests for this client must be pushed to /par first (RFC 9126)')
      const apis = await requestedApis(deps, client, params['resource'])
      const authRequest = validateAuthorizationRequest(params, client, target, apis)
      const session = await currentSession(deps, request)
      const now = deps.clock.now()
      const hint = await hintSubject(authRequest)
      const needs =
        session === undefined
          ? NO_NEEDS
          : await authenticationNeeds(deps, client, authRequest, session.userId, (id) =>
              readOnce(request, 'user', id, () => deps.repos.users.findById(id)),
            )
      const decision = decideAuthorization({ request: authRequest, session, now, hintSubject: hint, ...needs })
      reply.header('cache-control', 'no-store')
      if (decision.type === 'error') throw decision.error
      if (decision.type === 'login' || session === undefined) return reply.redirect(await parkForLogin(deps, authRequest), 303)
      return reply.redirect(await routeDecision(deps, reply, decision, authRequest, session), 303)
    } catch (error) {
      if (error instanceof OAuthError) return redirectError(reply, target, error)
      throw error
    }
  }

  /** Before redirect_uri is known to be the client's, a failure is a page, never a redirect. */
  async function findClient(clientId: string) {
    try {
      return await deps.clients.find(clientId)
    } catch (error) {
      if (error instanceof OAuthError) throw new UnsafeAuthorizeError(error.error, error.description)
      throw error
    }
  }

  async function hintSubject(authRequest: AuthorizationRequest): Promise<string | null> {
    if (authRequest.idTokenHint === null) return null
    try {
      // An expired hint still names the user (OIDC Core §3.1.2.1); the signature and issuer must be ours.
      const claims = await verifyIdToken(authRequest.idTokenHint, {
        keys: deps.keys,
        issuer: deps.config.issuer,
        now: deps.clock.now(),
        allowExpired: true,
      })
      return claims.sub
    } catch (error) {
      if (error instanceof TokenInvalid) throw new OAuthError('invalid_request', 'id_token_hint is not a valid ID token from this issuer')
      throw error
    }
  }

  function redirectError(reply: FastifyReply, target: RedirectTarget, error: OAuthError) {
    reply.log.info({ event: 'authorization_error', error: error.error }, 'authorization request refused')
    return reply.header('cache-control', 'no-store').redirect(errorResponseUrl(target, deps.config.issuer, error), 303)
  }

  const config = { page: true }
  app.get('/authorize', { schema: { querystring: AuthorizeParams }, config }, (request, reply) =>
    authorize(request.query as RawParams, request, reply),
  )
  app.post('/authorize', { schema: { body: AuthorizeParams }, config }, (request, reply) =>
    authorize(request.body as RawParams, request, reply),
  )
}
