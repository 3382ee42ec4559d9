/** RFC 6749 §6 and RFC 9700 §4.14 rules for a presented refresh token, as pure checks. */
import { OAuthError } from '../../errors/oauth-error.js'
import { parseScope } from '../scope.js'
import type { Grant } from '../../model/grant.js'
import type { Client } from '../../model/client.js'

/** A grant with a refresh-token family: its absolute end is known. */
export type RefreshableGrant = Grant & { readonly expiresAt: number }

/** A presented refresh token as the rules see it, whichever form it has (tokens/refresh.ts). */
export interface PresentedRefreshToken {
  readonly grantId: string
  readonly clientId: string
  readonly issuedAt: number
  /** It expires unused then (REFRESH_TOKEN_IDLE_TTL), never after its family. */
  readonly idleExpiresAt: number
  /** A later token of its family has been issued: presenting this one is reuse. */
  readonly superseded: boolean
}

/** `G`: the grant as the caller read it (with its stored extras), returned as given. */
export type RefreshCheck<G extends Grant = Grant> =
  | { readonly kind: 'ok'; readonly token: PresentedRefreshToken; readonly grant: G & RefreshableGrant }
  | { readonly kind: 'reuse'; readonly grant: G }

const INVALID = 'the refresh token is invalid'

/** Decides whether the token may be exchanged; `reuse` means a rotated token came back. */
export function checkRefreshToken<G extends Grant>(
  token: PresentedRefreshToken | undefined,
  grant: G | undefined,
  client: Client,
  now: number,
): RefreshCheck<G> {
  if (!token || !grant) throw new OAuthError('invalid_grant', INVALID)
  // Another client's token: refused without touching the family.
  if (token.clientId !== client.id || grant.clientId !== client.id)
    throw new OAuthError('invalid_grant', INVALID, { detail: 'refresh token of another client' })
  if (grant.revokedAt !== null) throw new OAuthError('invalid_grant', INVALID, { detail: 'family revoked' })
  if (token.superseded) return { kind: 'reuse', grant }
  const { expiresAt } = grant
  if (expiresAt === null || expiresAt <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired')
  if (token.idleExpiresAt <= now) throw new OAuthError('invalid_grant', 'the refresh token has expired')
  return { kind: 'ok', token, grant: { ...grant, expiresAt } }
}

/**
 * Why a rotation found its token no longer current, from the grant as read before and after:
 * another use of the same token moved the family on first (`reuse`: indistinguishable from theft,
 * RFC 9700 §4.14.2), or the grant was revoked or removed meanwhile (`ended`: a logout, an
 * administrator, the user's deletion; the token simply stopped being valid, and no one stole it).
 */
export function lostRotationCause(
  before: { readonly generation: number } | null,
  after: { readonly revokedAt: number | null; readonly refresh: { readonly generation: number } | null } | undefined,
): 'reuse' | 'ended' {
  if (after === undefined) return 'ended'
  if ((after.refresh?.generation ?? null) !== (before?.generation ?? null)) return 'reuse'
  // Neither moved on nor revoked (a rotation still committing): as before, the safe side.
  return after.revokedAt !== null ? 'ended' : 'reuse'
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
