import { OAuthError } from '../errors/oauth-error.js'

export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'roles', 'offline_access'] as const

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/** RFC 6749 §3.3 scope-token syntax. */
export const isScopeToken = (scope: string): boolean => SCOPE_TOKEN.test(scope)

/** RFC 6749 §3.3: space-delimited, case-sensitive, no duplicates kept. */
export function parseScope(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return []
  const scopes = raw.split(' ').filter((part) => part !== '')
  for (const scope of scopes) if (!isScopeToken(scope)) throw new OAuthError('invalid_scope', 'scope contains invalid characters')
  return [...new Set(scopes)]
}

/** Every requested scope must be one the client may ask for. */
export function checkScopesAllowed(requested: readonly string[], allowed: readonly string[]): void {
  const refused = requested.filter((scope) => !allowed.includes(scope))
  if (refused.length > 0) throw new OAuthError('invalid_scope', `scope not allowed for this client: ${refused.join(' ')}`)
}

export const formatScope = (scopes: readonly string[]): string => scopes.join(' ')
export const hasScope = (scope: string, wanted: string): boolean => scope.split(' ').includes(wanted)
