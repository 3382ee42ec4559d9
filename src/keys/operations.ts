/**
 * What an operator does to the signing keys, whichever surface asks (`idp keys`, the admin
 * console, the admin API): list them, rotate (routine or emergency), revoke one. The key store
 * does the work and records the security event with the actor; this adds the checks and the
 * words every surface shows.
 */
import type { Deps } from '../deps.js'
import { actorLabel, type Actor } from '../model/actor.js'
import type { KeyListing } from './key-store.js'

export { KeyPromotionTooEarly } from './key-store.js'

type KeyDeps = Pick<Deps, 'keys' | 'config'>

/** `revokeSigningKey` for a kid that names no published key (unknown, or already revoked). */
export class UnknownSigningKey extends Error {
  readonly code = 'unknown_key'
  constructor(readonly kid: string) {
    super(`no published key with kid ${kid}`)
    this.name = 'UnknownSigningKey'
  }
}

export interface KeyRotation {
  /** The key that signs from now on. */
  readonly activeKid: string
  /** Why some resource servers may reject new tokens for a while; null when every cache already has the key. */
  readonly warning: string | null
}

export interface KeyRevocation {
  readonly revoked: string
  /** The key that signs now (another one when the revoked key was signing). */
  readonly activeKid: string
}

/**
 * Resource servers cache the JWKS: "refetch on an unknown kid" only helps once the library's
 * cooldown since its last fetch has passed (jose createRemoteJWKSet: 30 s; oauth4webapi: 60 s).
 */
export function rotationWarning(promotedPublishedSeconds: number | null, jwksMaxAge: number): string | null {
  if (promotedPublishedSeconds === null) return 'no next key was waiting: the new signing key was published just now'
  if (promotedPublishedSeconds >= jwksMaxAge) return null
  return (
    `the promoted key was published ${promotedPublishedSeconds}s ago, less than the JWKS max-age (${jwksMaxAge}s): ` +
    'resource servers that refetch the JWKS on an unknown kid accept its tokens only after their refetch cooldown ' +
    '(jose createRemoteJWKSet: 30 s since its last fetch; oauth4webapi: 60 s); ones that never refetch may reject new tokens until their cache expires'
  )
}

/** Every key with its state and times; never private material. */
export const listSigningKeys = (deps: KeyDeps): Promise<KeyListing[]> => deps.keys.list()

/**
 * Rotates now. A routine rotation (`immediately` false) throws KeyPromotionTooEarly while the next
 * key has been published for less than KEY_REFRESH_INTERVAL + CLOCK_SKEW (every instance must
 * serve it before any signs with it); the caller waits `waitSeconds` or, in an emergency, rotates
 * `immediately`.
 */
export async function rotateSigningKeys(deps: KeyDeps, options: { readonly immediately: boolean; readonly actor: Actor }): Promise<KeyRotation> {
  const outcome = await deps.keys.rotate({ immediately: options.immediately, actor: actorLabel(options.actor) })
  return { activeKid: outcome.activeKid, warning: rotationWarning(outcome.promotedPublishedSeconds, deps.config.jwksMaxAge) }
}

/** Break-glass: the key leaves the JWKS at once and its tokens stop verifying; UnknownSigningKey when nothing was published under `kid`. */
export async function revokeSigningKey(deps: KeyDeps, kid: string, actor: Actor): Promise<KeyRevocation> {
  const changes = await deps.keys.revoke(kid, { actor: actorLabel(actor) })
  if (changes.length === 0) throw new UnknownSigningKey(kid)
  return { revoked: kid, activeKid: deps.keys.signingKey().kid }
}
