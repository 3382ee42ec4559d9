/**
 * The signing-key store: keys in the database (private halves sealed under the KEK), a cached
 * snapshot in memory (the active signing key, the published verification keys, the precomputed
 * JWKS), refreshed whenever the store's generation moves — so rotations made by the CLI, the
 * schedule or another instance reach every running server within KEY_REFRESH_INTERVAL.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { Logger } from 'pino'
import type { SecurityEvents } from '../audit.js'
import type { Clock } from '../clock.js'
import type { SigningKeysRepository, StoredKey, NewKey } from '../db/repositories/signing-keys.js'
import { openEnvelope, sealEnvelope } from './envelope.js'
import { generateSigningKey, type SigningAlg } from './generate.js'
import { KeyStoreError } from './kek.js'
import { isPublished, nextKey, planMaintenance, planRevocation, planRotation, promotionWaitSeconds, publishedForSeconds, type RotationPolicy } from './rotation.js'
import type { KeyChange, KeyRecord } from '../model/signing-key.js'

export interface KeyStoreOptions {
  readonly repository: SigningKeysRepository
  readonly kek: Buffer
  readonly clock: Clock
  readonly policy: RotationPolicy
  readonly modulusLength: number
  readonly log: Logger
  /** Where rotations are recorded as security events; without it they are only logged. */
  readonly events?: Pick<SecurityEvents, 'record'>
}

export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlg
  readonly key: KeyObject
}

interface Snapshot {
  readonly generation: number
  readonly signing: SigningKey | undefined
  readonly verification: ReadonlyMap<string, KeyObject>
  readonly jwks: string
  /** When the published set next changes by the passage of time (a retired key leaving JWKS). */
  readonly staleAt: number
}

export interface KeyListing extends KeyRecord {
  readonly alg: string
}

export interface RotationOutcome {
  readonly changes: readonly KeyChange[]
  readonly activeKid: string
  /** How long the promoted key had been published; below the JWKS max-age some caches lack it. */
  readonly promotedPublishedSeconds: number | null
}

const MAX_ATTEMPTS = 8

/**
 * A routine rotation asked for before the next key has been published long enough for every
 * instance to serve it (RotationPolicy.minPromotionAgeSeconds). Wait `waitSeconds`, or rotate
 * with `immediately` in an emergency.
 */
export class KeyPromotionTooEarly extends Error {
  constructor(
    readonly kid: string,
    readonly waitSeconds: number,
  ) {
    super(`next key ${kid} has not been published long enough; ${waitSeconds}s to wait`)
    this.name = 'KeyPromotionTooEarly'
  }
}

export interface RotateOptions {
  /** Promote the next key now even if some instance may not publish it yet (emergencies). */
  readonly immediately?: boolean
  /** Who asked (model/actor.ts actorLabel: `cli`, `user:ID`, `client:ID`): recorded with the security event. */
  readonly actor?: string
}

export class KeyStore {
  #snapshot: Snapshot = { generation: -1, signing: undefined, verification: new Map(), jwks: '{"keys":[]}', staleAt: Infinity }
  #timer: NodeJS.Timeout | undefined
  readonly #options: KeyStoreOptions

  constructor(options: KeyStoreOptions) {
    this.#options = options
  }

  /** Ensures an active and a next key exist (creating them on a fresh install) and loads them. */
  async initialise(): Promise<void> {
    await this.#mutate((keys, now) => planMaintenance(keys, now, { ...this.#options.policy, rotationIntervalSeconds: null }))
    await this.refresh(true)
    if (!this.#snapshot.signing) throw new KeyStoreError('no active signing key after initialisation')
  }

  /** The one key that signs now. */
  signingKey(): SigningKey {
    const signing = this.#snapshot.signing
    if (!signing) throw new KeyStoreError('key store not initialised')
    return signing
  }

  /** A published key by kid, for verifying our own tokens; revoked and expired keys are absent. */
  verificationKey(kid: string | undefined): KeyObject | undefined {
    return kid === undefined ? undefined : this.#snapshot.verification.get(kid)
  }

  /** The JWKS document, serialised once per change. */
  jwksJson(): string {
    return this.#snapshot.jwks
  }

  async #rotated(detail: Record<string, string | undefined>, message: string): Promise<void> {
    if (this.#options.events) await this.#options.events.record('key_rotation', { detail }, message)
    else this.#options.log.warn({ event: 'key_rotation', ...detail }, message)
  }

  async list(): Promise<KeyListing[]> {
    const { keys } = await this.#options.repository.load()
    return keys.map(({ publicJwk: _publicJwk, sealedPrivateKey: _sealed, ...record }) => record)
  }

  async rotate(options: RotateOptions = {}): Promise<RotationOutcome> {
    const { policy } = this.#options
    // A key must exist and be published before it can wait out its age.
    if (!options.immediately) await this.#mutate((keys) => (nextKey(keys) ? [] : [{ type: 'create', state: 'next' }]))
    let promoted: number | null = null
    const changes = await this.#mutate((keys, now) => {
      const wait = options.immediately ? 0 : promotionWaitSeconds(keys, now, policy)
      if (wait > 0) throw new KeyPromotionTooEarly(nextKey(keys)!.kid, wait)
      promoted = publishedForSeconds(keys, now)
      return planRotation(keys, now, policy)
    })
    await this.#rotated({ kind: 'routine', activeKid: this.signingKey().kid, actor: options.actor }, 'signing key rotated')
    return { changes, activeKid: this.signingKey().kid, promotedPublishedSeconds: promoted }
  }

  async revoke(kid: string, options: Pick<RotateOptions, 'actor'> = {}): Promise<readonly KeyChange[]> {
    const changes = await this.#mutate((keys) => planRevocation(keys, kid))
    if (changes.length > 0)
      await this.#rotated({ kind: 'emergency_revocation', kid, activeKid: this.signingKey().kid, actor: options.actor }, 'signing key revoked')
    return changes
  }

  /** Scheduled rotation and retirement clean-up; safe to run on every instance at once. */
  async maintain(): Promise<readonly KeyChange[]> {
    const changes = await this.#mutate((keys, now) => planMaintenance(keys, now, this.#options.policy))
    if (changes.some((change) => change.type === 'activate')) {
      await this.#rotated({ kind: 'scheduled', activeKid: this.signingKey().kid }, 'signing key rotated on schedule')
    }
    return changes
  }

  /** Reloads the snapshot when the store changed (or time moved a key out of JWKS). */
  async refresh(force = false): Promise<void> {
    const now = this.#options.clock.now()
    if (!force && now < this.#snapshot.staleAt && (await this.#options.repository.generation()) === this.#snapshot.generation) return
    const { generation, keys } = await this.#options.repository.load()
    this.#snapshot = this.#buildSnapshot(generation, keys, now)
  }

  /** Background refresh + maintenance; errors are logged, never thrown (the old snapshot keeps serving). */
  start(intervalSeconds: number): void {
    const tick = async () => {
      try {
        await this.maintain()
        await this.refresh()
      } catch (error) {
        this.#options.log.error({ err: error }, 'key store refresh failed')
      }
    }
    this.#timer = setInterval(() => void tick(), intervalSeconds * 1000)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #buildSnapshot(generation: number, keys: readonly StoredKey[], now: number): Snapshot {
    const published = keys
      .filter((key) => isPublished(key, now))
      // Active first: clients that take the first key still pick the signing one.
      .sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt)
    const jwks = published.map((key) => JSON.parse(key.publicJwk) as JsonWebKey)
    const verification = new Map<string, KeyObject>(published.map((key, index) => [key.kid, createPublicKey({ key: jwks[index]!, format: 'jwk' })]))
    const active = keys.find((key) => key.state === 'active')
    const previous = this.#snapshot.signing
    const signing: SigningKey | undefined = active
      ? previous?.kid === active.kid
        ? previous
        : { kid: active.kid, alg: active.alg as SigningAlg, key: this.#openPrivateKey(active) }
      : undefined
    const jwksJson = JSON.stringify({ keys: jwks.map(publicMembers) })
    const staleAt = Math.min(...published.filter((key) => key.state === 'retired').map((key) => key.retiresAt ?? Infinity), Infinity)
    return { generation, signing, verification, jwks: jwksJson, staleAt }
  }

  #openPrivateKey(key: StoredKey): KeyObject {
    try {
      return createPrivateKey({ key: openEnvelope(this.#options.kek, key.sealedPrivateKey, key.kid), format: 'der', type: 'pkcs8' })
    } catch (error) {
      throw new KeyStoreError(`cannot decrypt signing key ${key.kid}: wrong key-encryption key?`, { cause: error })
    }
  }

  async #mutate(plan: (keys: readonly StoredKey[], now: number) => KeyChange[]): Promise<KeyChange[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { generation, keys } = await this.#options.repository.load()
      const now = this.#options.clock.now()
      const changes = plan(keys, now)
      if (changes.length === 0) return []
      const created: NewKey[] = []
      for (const change of changes) {
        if (change.type !== 'create') continue
        const generated = await generateSigningKey('RS256', this.#options.modulusLength)
        created.push({
          kid: generated.kid,
          alg: generated.alg,
          publicJwk: JSON.stringify(generated.publicJwk),
          sealedPrivateKey: sealEnvelope(this.#options.kek, generated.privatePkcs8, generated.kid),
        })
      }
      if (await this.#options.repository.apply(generation, changes, created, now)) {
        await this.refresh(true)
        return changes
      }
      // Someone else changed the store first: re-read and re-plan against their result.
    }
    throw new KeyStoreError('key store is changing too fast; gave up after several attempts')
  }
}

const rank = (key: KeyRecord): number => (key.state === 'active' ? 0 : key.state === 'next' ? 1 : 2)

/** Only public RSA members leave the store, whatever the stored JWK holds (RFC 7517 §9.3). */
function publicMembers(jwk: JsonWebKey): Record<string, unknown> {
  return { kty: jwk['kty'], kid: jwk['kid'], use: 'sig', alg: jwk['alg'], n: jwk['n'], e: jwk['e'] }
}
