/**
 * An access token presented to one of our own resources (/userinfo, the admin API): RFC 6750 §2.1
 * header only, our own `at+jwt` tokens for `audience` only (RFC 9068), and for a DPoP-bound token
 * the DPoP scheme with a proof of its key for this request (RFC 9449 §7). Revocation is left to the
 * caller, which knows what else the token must be.
 */
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { OAuthError } from '../errors/oauth-error.js'
import { TokenInvalid, verifyAccessToken, type VerifiedAccessToken } from '../tokens/verify.js'

export interface PresentedAccessToken {
  readonly claims: VerifiedAccessToken
  /** The scheme the client used, for the `WWW-Authenticate` challenge of later errors. */
  readonly scheme: 'Bearer' | 'DPoP'
  /** An `invalid_token` error in that scheme. */
  readonly invalid: (detail: string) => OAuthError
}

const AUTHORIZATION = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i

export async function verifyPresentedAccessToken(
  deps: Pick<Deps, 'config' | 'keys' | 'clock' | 'dpop' | 'verifiedTokens'>,
  request: FastifyRequest,
  target: {
    readonly audience: string
    /** The resource's URL without query, as the DPoP proof's `htu` must name it. */
    readonly url: string
    /** What the error says when no token is there, and when it is not valid here. */
    readonly missing: string
    readonly notValid: string
  },
): Promise<PresentedAccessToken> {
  const header = request.headers.authorization ?? ''
  const match = AUTHORIZATION.exec(header)
  if (!match) {
    // RFC 6750 §3.1: no credentials, or another scheme (Basic, …), is not an invalid token: the answer
    // is the challenges alone, without an error code. A Bearer or DPoP header that is malformed is one.
    const attempted = /^(Bearer|DPoP)(\s|$)/i.exec(header)?.[1]
    if (attempted === undefined) throw new OAuthError('invalid_token', target.missing, { unauthenticated: true })
    throw new OAuthError('invalid_token', target.notValid, {
      detail: 'malformed Authorization header',
      challenge: attempted.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
    })
  }
  const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
  const token = match[2]!
  const invalid = (detail: string) => new OAuthError('invalid_token', target.notValid, { detail, challenge: scheme })
  let claims: VerifiedAccessToken
  try {
    claims = await verifyAccessToken(token, {
      keys: deps.keys,
      issuer: deps.config.issuer,
      audience: target.audience,
      now: deps.clock.now(),
      cache: deps.verifiedTokens,
    })
  } catch (error) {
    if (error instanceof TokenInvalid) throw invalid(error.reason)
    throw error
  }
  const boundTo = (claims['cnf'] as { jkt?: unknown } | undefined)?.jkt
  if (typeof boundTo === 'string' || scheme === 'DPoP') {
    if (scheme !== 'DPoP')
      throw new OAuthError('invalid_token', 'a DPoP-bound access token must be sent with the DPoP scheme', { challenge: 'DPoP' })
    const proved = await deps.dpop.verify({
      header: request.headers['dpop'],
      method: request.method,
      url: target.url,
      accessToken: token,
      status: 401,
    })
    if (proved === null) throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { status: 401, challenge: 'DPoP' })
    if (proved !== boundTo) throw invalid('the DPoP proof is for another key')
  }
  return { claims, scheme, invalid }
}
