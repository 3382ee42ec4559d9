/**
 * The `jti` of an access token (RFC 9068 §2.2, RFC 7519 §4.1.7) says what its revocation hangs
 * on, so that no row has to be written per token (issue 20): `g.<grant id>.<random>` for a token
 * of a grant (it dies with its grant: logout, refresh-token reuse, consent withdrawn, a disabled
 * user), `c.<random>` for a client_credentials token (it dies with its client). A token revoked on
 * its own (RFC 7009) is listed by jti until it expires. Anything else is a token issued before this
 * format, whose row still says it all. Grant ids and the random part are base64url: no dots.
 */
const PART = /^[A-Za-z0-9_-]{1,64}$/

export type AccessTokenOwner = { readonly kind: 'grant'; readonly grantId: string } | { readonly kind: 'client' }

export function accessTokenId(grantId: string | null, random: string): string {
  return grantId === null ? `c.${random}` : `g.${grantId}.${random}`
}

/** What a jti names; null for the earlier format (a random id with a row per token). */
export function accessTokenOwner(jti: string): AccessTokenOwner | null {
  const parts = jti.split('.')
  if (parts[0] === 'c' && parts.length === 2 && PART.test(parts[1]!)) return { kind: 'client' }
  if (parts[0] === 'g' && parts.length === 3 && PART.test(parts[1]!) && PART.test(parts[2]!)) return { kind: 'grant', grantId: parts[1]! }
  return null
}
