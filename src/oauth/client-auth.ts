/**
 * Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
 * client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 §2.2, for clients that
 * registered a key), or none for public clients. Exactly one method.
 */
import { decodeJwt } from 'jose'
import { OAuthError } from '../errors/oauth-error.js'
import { secretMatches } from '../secrets.js'
import { isPublicClient, usesPrivateKeyJwt, type Client, type TokenEndpointAuthMethod } from '../model/client.js'

export type ClientAuthMethod = TokenEndpointAuthMethod
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']
/** Signature algorithms accepted on client assertions (asymmetric only: no shared secrets). */
export const CLIENT_ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface ClientCredentials {
  readonly method: ClientAuthMethod
  readonly clientId: string
  readonly secret: string | null
  /** private_key_jwt: the signed assertion, checked against the client's keys (clients/client-assertion.ts). */
  readonly assertion: string | null
}

export interface PresentedCredentials {
  readonly authorization: string | undefined
  readonly clientId: string | undefined
  readonly clientSecret: string | undefined
  readonly assertionType: string | undefined
  readonly assertion: string | undefined
}

/** RFC 7521 §4.2: the assertion names its client in `sub` (and `iss`); an explicit client_id must agree. */
function readAssertion(presented: PresentedCredentials): ClientCredentials {
  if (presented.assertionType !== JWT_BEARER_ASSERTION)
    throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`)
  if (presented.authorization !== undefined || presented.clientSecret !== undefined)
    throw new OAuthError('invalid_request', 'use only one client authentication method')
  let subject: unknown
  try {
    subject = decodeJwt(presented.assertion!).sub
  } catch {
    throw new OAuthError('invalid_client', 'client_assertion is not a JWT')
  }
  if (typeof subject !== 'string' || subject === '' || CONTROL_CHARACTER.test(subject))
    throw new OAuthError('invalid_client', 'client_assertion has no sub')
  if (presented.clientId !== undefined && presented.clientId !== subject)
    throw new OAuthError('invalid_request', 'client_id does not match the client assertion')
  return { method: 'private_key_jwt', clientId: subject, secret: null, assertion: presented.assertion! }
}

/** RFC 6749 §2.3.1: Basic credentials are form-url-encoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

/**
 * Control characters are never part of a client_id or secret (RFC 6749 Appendix A.1, A.2: VSCHAR),
 * and a decoded NUL would reach the database as text PostgreSQL refuses.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

/** Extracts the credentials a request presents, refusing mixed or malformed ones. */
export function readClientCredentials(presented: PresentedCredentials): ClientCredentials {
  if (presented.assertion !== undefined || presented.assertionType !== undefined) return readAssertion(presented)
  const { authorization, clientId: bodyClientId, clientSecret: bodySecret } = presented
  if (authorization !== undefined) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization.trim())
    if (!match) throw new OAuthError('invalid_client', 'unsupported Authorization header')
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'use only one client authentication method')
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials')
    let clientId: string
    let secret: string
    try {
      clientId = formDecode(decoded.slice(0, colon))
      secret = formDecode(decoded.slice(colon + 1))
    } catch {
      throw new OAuthError('invalid_client', 'malformed Basic credentials')
    }
    if (CONTROL_CHARACTER.test(clientId) || CONTROL_CHARACTER.test(secret))
      throw new OAuthError('invalid_client', 'malformed Basic credentials')
    if (bodyClientId !== undefined && bodyClientId !== clientId)
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header')
    return { method: 'client_secret_basic', clientId, secret, assertion: null }
  }
  if (bodyClientId === undefined) throw new OAuthError('invalid_client', 'client authentication is required')
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyClientId, secret: bodySecret, assertion: null }
  return { method: 'none', clientId: bodyClientId, secret: null, assertion: null }
}

/** Why client authentication failed; the caller decides what counts as a throttled failure. */
export type ClientAuthFailure =
  'unknown_client' | 'wrong_secret' | 'missing_secret' | 'secret_for_public_client' | 'assertion_required' | 'bad_assertion'

export type ClientAuthResult = { readonly ok: true; readonly client: Client } | { readonly ok: false; readonly reason: ClientAuthFailure }

/** The secret matches the current one, or the one before a rotation while its overlap lasts (until `expiresAt`, exclusive). */
function secretAccepted(secret: string, client: Client, now: number): boolean {
  const current = secretMatches(secret, client.secretHash!)
  const previous = client.previousSecret
  // Both compared every time: how long the check takes says nothing about which one matched.
  const old = previous !== null && secretMatches(secret, previous.hash) && now < previous.expiresAt
  return current || old
}

/**
 * Checks credentials against the registered client at `now` (epoch seconds): confidential clients
 * must prove their secret (the previous one works during a rotation's overlap). For a
 * private_key_jwt client this checks only that an assertion was sent; its signature and claims are
 * checked by the caller (they need the client's keys).
 */
export function authenticateClient(credentials: ClientCredentials, client: Client | undefined, now: number): ClientAuthResult {
  if (!client) return { ok: false, reason: 'unknown_client' }
  if (usesPrivateKeyJwt(client))
    return credentials.method === 'private_key_jwt' ? { ok: true, client } : { ok: false, reason: 'assertion_required' }
  // A client with a secret or none cannot switch to an assertion: no keys were registered for it.
  if (credentials.method === 'private_key_jwt') return { ok: false, reason: 'bad_assertion' }
  if (isPublicClient(client))
    return credentials.method === 'none' ? { ok: true, client } : { ok: false, reason: 'secret_for_public_client' }
  if (credentials.secret === null) return { ok: false, reason: 'missing_secret' }
  return secretAccepted(credentials.secret, client, now) ? { ok: true, client } : { ok: false, reason: 'wrong_secret' }
}
