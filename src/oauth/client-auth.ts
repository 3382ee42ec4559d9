/**
 * Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
 * client_secret_basic, client_secret_post, or none for public clients. Exactly one method.
 */
import { OAuthError } from '../errors/oauth-error.js'
import { secretMatches } from '../secrets.js'
import { isPublicClient, type Client } from '../model/client.js'

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none']

export interface ClientCredentials {
  readonly method: ClientAuthMethod
  readonly clientId: string
  readonly secret: string | null
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
export function readClientCredentials(authorization: string | undefined, bodyClientId: string | undefined, bodySecret: string | undefined): ClientCredentials {
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
    if (CONTROL_CHARACTER.test(clientId) || CONTROL_CHARACTER.test(secret)) throw new OAuthError('invalid_client', 'malformed Basic credentials')
    if (bodyClientId !== undefined && bodyClientId !== clientId) throw new OAuthError('invalid_request', 'client_id does not match the Authorization header')
    return { method: 'client_secret_basic', clientId, secret }
  }
  if (bodyClientId === undefined) throw new OAuthError('invalid_client', 'client authentication is required')
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyClientId, secret: bodySecret }
  return { method: 'none', clientId: bodyClientId, secret: null }
}

/** Why client authentication failed; the caller decides what counts as a throttled failure. */
export type ClientAuthFailure = 'unknown_client' | 'wrong_secret' | 'missing_secret' | 'secret_for_public_client'

export type ClientAuthResult = { readonly ok: true; readonly client: Client } | { readonly ok: false; readonly reason: ClientAuthFailure }

/** Checks credentials against the registered client: confidential clients must prove their secret. */
export function authenticateClient(credentials: ClientCredentials, client: Client | undefined): ClientAuthResult {
  if (!client) return { ok: false, reason: 'unknown_client' }
  if (isPublicClient(client)) return credentials.method === 'none' ? { ok: true, client } : { ok: false, reason: 'secret_for_public_client' }
  if (credentials.secret === null) return { ok: false, reason: 'missing_secret' }
  return secretMatches(credentials.secret, client.secretHash!) ? { ok: true, client } : { ok: false, reason: 'wrong_secret' }
}
