/**
 * Pushed authorization requests (RFC 9126): the client posts its authorization request to /par,
 * authenticated, and gets a request_uri that /authorize accepts once within 60 seconds. The
 * request is validated at push time with the same rules as /authorize, so errors reach the client
 * directly instead of through the browser.
 */
import type { Deps } from '../deps.js'
import { OAuthError, UnsafeAuthorizeError } from '../errors/oauth-error.js'
import { identifyClient, validateAuthorizationRequest } from '../oauth/authorize-request.js'
import { single, type RawParams } from '../oauth/params.js'
import { requestedApis } from '../apis/resources.js'
import type { Client } from '../model/client.js'
import { hashSecret, randomToken } from '../secrets.js'

/** RFC 9126 §2.2: a URN the client cannot guess; only its hash is stored. */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:'
/** RFC 9126 §2.2: short-lived; FAPI 2.0 asks for under 600 s, one minute is ample for a redirect. */
export const PUSHED_REQUEST_TTL = 60

/** Client authentication belongs to the push, not to the authorization request it carries. */
const AUTHENTICATION_PARAMS = ['client_secret', 'client_assertion', 'client_assertion_type']

export async function pushAuthorizationRequest(
  deps: Pick<Deps, 'repos' | 'clock' | 'config'>,
  client: Client,
  params: RawParams,
  dpopJkt: string | null,
): Promise<{ request_uri: string; expires_in: number }> {
  // RFC 9126 §2.1: request_uri cannot itself be pushed; request objects are not supported.
  if (params['request_uri'] !== undefined) throw new OAuthError('invalid_request', 'request_uri cannot be pushed')
  if (params['request'] !== undefined) throw new OAuthError('request_not_supported', 'request objects are not supported')
  const clientId = single(params, 'client_id')
  if (clientId !== undefined && clientId !== client.id)
    throw new OAuthError('invalid_request', 'client_id does not match the authenticated client')
  const stored: Record<string, string | readonly string[] | undefined> = { ...params, client_id: client.id }
  for (const name of AUTHENTICATION_PARAMS) delete stored[name]
  // RFC 9449 §10.1: a DPoP proof with the push binds the code like dpop_jkt, which must then agree.
  if (dpopJkt !== null) {
    const named = single(params, 'dpop_jkt')
    if (named !== undefined && named !== dpopJkt) throw new OAuthError('invalid_dpop_proof', 'dpop_jkt does not match the DPoP proof')
    stored['dpop_jkt'] = dpopJkt
  }
  try {
    const { target } = identifyClient(stored, () => client)
    validateAuthorizationRequest(stored, client, target, await requestedApis(deps, client, stored['resource']))
  } catch (error) {
    // At /par every problem is the client's to read: plain OAuth errors, never a page.
    if (error instanceof UnsafeAuthorizeError) throw new OAuthError(error.error, error.description)
    throw error
  }
  const requestUri = `${REQUEST_URI_PREFIX}${randomToken()}`
  await deps.repos.pushedRequests.insert(hashSecret(requestUri), client.id, stored, deps.clock.now() + PUSHED_REQUEST_TTL)
  return { request_uri: requestUri, expires_in: PUSHED_REQUEST_TTL }
}

/**
 * /authorize with a request_uri: the pushed parameters replace whatever else the browser brought
 * (RFC 9126 §4); the request_uri works once, for the client that pushed it.
 */
export async function takePushedRequest(
  deps: Pick<Deps, 'repos' | 'clock'>,
  requestUri: string,
  clientId: string | undefined,
): Promise<RawParams> {
  if (clientId === undefined) throw new UnsafeAuthorizeError('invalid_request', 'client_id is missing')
  const pushed = await deps.repos.pushedRequests.take(hashSecret(requestUri), deps.clock.now())
  if (!pushed || pushed.clientId !== clientId)
    throw new UnsafeAuthorizeError(
      'invalid_request_uri',
      'this sign-in link has expired or was already used: go back to the application and try again',
    )
  return pushed.params
}
