/** RFC 6749 §6 and RFC 9700 §4.14 rules for a presented refresh token, as pure checks. */
import { OAuthError } from '../../errors/oauth-error.js'
import type { Grant } from '../../db/repositories/grants.js'
import type { RefreshToken } from '../../db/repositories/refresh-tokens.js'
import type { Client } from '../client.js'
import { parseScope } from '../scope.js'

export type RefreshCheck = { readonly kind: 'ok' } | { readonly kind: 'reuse' }

const INVALID = 'the refresh token is invalid'

/** Decides whether the token may be exchanged; `reuse` means a rotated token came back. */
export function checkRefreshToken(token: RefreshToken | undefined, grant: Grant | undefined, client: Client, now: number): RefreshCheck {
  if (!token || !grant) throw new OAuthError('invalid_grant', INVALID)
  // Another client's token: refused without touching the family.
  if (token.clientId !== client.id || grant.clientId !== client.id) throw new OAuthError('invalid_grant', INVALID, { detail: 'refresh token of another client' })
  if (grant.revokedAt !== null) throw new OAuthError('invalid_grant', INVALID, { detail: 'family revoked' })
  if (token.usedAt !== null) return { kind: 'reuse' }
  if (grant.expiresAt === null || grant.expiresAt <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired')
  if (token.idleExpiresAt <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired')
  return { kind: 'ok' }
}

/** A narrower scope may be asked for; a wider one is invalid_scope (RFC 6749 §6). */
export function refreshedScope(grantScope: string, requested: string | undefined): string {
  if (requested === undefined) return grantScope
  const granted = grantScope.split(' ')
  const wanted = parseScope(requested)
  const extra = wanted.filter((scope) => !granted.includes(scope))
  if (extra.length > 0) throw new OAuthError('invalid_scope', `scope exceeds the original grant: ${extra.join(' ')}`)
  return wanted.join(' ')
}
