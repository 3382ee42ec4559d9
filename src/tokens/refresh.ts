/**
 * Refresh tokens as generations of their grant's family. A token is `<MAC>.<grant id>.<generation>`
 * with an HMAC-SHA256 under a key derived from the KEK: only Tessera can make one, and the grant
 * row keeps only the current generation. A token of an earlier generation is therefore recognised
 * as a rotated one coming back (RFC 9700 §4.14.2: the family is revoked) for as long as the grant
 * exists, with no row per rotation. Tokens from before generations (opaque, one row each in
 * refresh_tokens) still work: their first refresh moves the family to generations.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Deps } from '../deps.js'
import type { Grant, RefreshFamily, StoredGrant } from '../model/grant.js'
import type { RefreshToken } from '../model/refresh-token.js'
import type { PresentedRefreshToken } from '../oauth/grants/refresh-token.js'
import { hashSecret } from '../secrets.js'

type RefreshDeps = Pick<Deps, 'config' | 'clock' | 'refreshTokenKey'>

/** A refresh token about to be issued: the value for the client, and the family state to store with it. */
export interface MintedRefreshToken {
  readonly token: string
  readonly family: RefreshFamily
}

/** A presented refresh token, recognised: what it is, its grant, and where its state lives. */
export interface FoundRefreshToken {
  readonly presented: PresentedRefreshToken
  readonly grant: StoredGrant | undefined
  readonly source: { readonly kind: 'generation'; readonly generation: number } | { readonly kind: 'stored'; readonly tokenHash: string }
}

const GENERATION = /^(0|[1-9][0-9]{0,8})$/

function mac(key: Buffer, grantId: string, generation: number): Buffer {
  return createHmac('sha256', key).update(`${grantId}.${generation}`).digest()
}

/** The token of one generation of a grant's family. */
function tokenOf(key: Buffer, grantId: string, generation: number): string {
  // The MAC first: a token's leading characters, which logs and proxies are prone to keep, are its secret.
  return `${mac(key, grantId, generation).toString('base64url')}.${grantId}.${generation}`
}

/** The grant and generation a token names, when its MAC is right; undefined for anything else. */
export function readRefreshToken(key: Buffer, raw: string): { readonly grantId: string; readonly generation: number } | undefined {
  const parts = raw.split('.')
  if (parts.length !== 3) return undefined
  const [tag, grantId, generationText] = parts as [string, string, string]
  if (grantId === '' || !GENERATION.test(generationText)) return undefined
  const generation = Number(generationText)
  // Compared as text: base64url decoding would also accept other spellings of the same bytes.
  const given = Buffer.from(tag)
  const expected = Buffer.from(mac(key, grantId, generation).toString('base64url'))
  return given.length === expected.length && timingSafeEqual(given, expected) ? { grantId, generation } : undefined
}

/** The token of generation `generation` of a grant's family, issued now; its idle expiry never outlives the family. */
export function mintRefreshToken(deps: RefreshDeps, grantId: string, generation: number, familyExpiresAt: number): MintedRefreshToken {
  const now = deps.clock.now()
  return {
    token: tokenOf(deps.refreshTokenKey, grantId, generation),
    family: { generation, issuedAt: now, idleExpiresAt: Math.min(now + deps.config.refreshTokenIdleTtl, familyExpiresAt) },
  }
}

/** The first refresh token of a new grant: only an offline grant (one with a family end) has one. */
export function firstRefreshToken(deps: RefreshDeps, grant: Grant): MintedRefreshToken | null {
  return grant.offline && grant.expiresAt !== null ? mintRefreshToken(deps, grant.id, 0, grant.expiresAt) : null
}

const fromStored = (token: RefreshToken): PresentedRefreshToken => ({
  grantId: token.grantId,
  clientId: token.clientId,
  issuedAt: token.createdAt,
  idleExpiresAt: token.idleExpiresAt,
  superseded: token.usedAt !== null,
})

/**
 * Recognises a presented refresh token: a generation of a grant's family (its MAC checked before
 * any read), or a stored token from before generations. Undefined: not a refresh token of ours.
 */
export async function findRefreshToken(deps: Pick<Deps, 'repos' | 'refreshTokenKey'>, raw: string): Promise<FoundRefreshToken | undefined> {
  const named = readRefreshToken(deps.refreshTokenKey, raw)
  if (named) {
    const grant = await deps.repos.grants.find(named.grantId)
    const family = grant?.refresh
    // A later generation than the grant's own cannot have been issued by this database (a restored
    // backup, say): not recognised, and not reuse.
    if (!grant || !family || named.generation > family.generation) return undefined
    return {
      presented: {
        grantId: grant.id,
        clientId: grant.clientId,
        issuedAt: family.issuedAt,
        idleExpiresAt: family.idleExpiresAt,
        superseded: named.generation < family.generation,
      },
      grant,
      source: { kind: 'generation', generation: named.generation },
    }
  }
  if (raw.includes('.')) return undefined
  const tokenHash = hashSecret(raw)
  const stored = await deps.repos.refreshTokens.find(tokenHash)
  if (!stored) return undefined
  return { presented: fromStored(stored), grant: await deps.repos.grants.find(stored.grantId), source: { kind: 'stored', tokenHash } }
}

/**
 * Rotation: the family moves to the next generation, whose token is returned. Null when a
 * concurrent request rotated the same token first (of concurrent uses exactly one wins).
 */
export async function rotateRefreshToken(
  deps: RefreshDeps & Pick<Deps, 'repos'>,
  found: FoundRefreshToken,
  familyExpiresAt: number,
): Promise<string | null> {
  const { grantId } = found.presented
  if (found.source.kind === 'generation') {
    const next = mintRefreshToken(deps, grantId, found.source.generation + 1, familyExpiresAt)
    return (await deps.repos.grants.advanceRefreshFamily(grantId, found.source.generation, next.family)) ? next.token : null
  }
  const next = mintRefreshToken(deps, grantId, 1, familyExpiresAt)
  return (await deps.repos.refreshTokens.moveToGenerations(found.source.tokenHash, grantId, next.family, deps.clock.now()))
    ? next.token
    : null
}
