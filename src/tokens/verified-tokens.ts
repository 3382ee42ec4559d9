/**
 * Access tokens whose signature this process verified recently. A resource server introspects
 * the same token on every call it serves, and a client may ask /userinfo with it more than once:
 * verifying the same bytes' RS256 signature again only adds a trip to libuv's thread pool.
 *
 * Only what cannot change for the same bytes is remembered: the signature held under one
 * verification key, and the claims checked with one audience. Expiry is checked on every use,
 * revocation is the caller's on every use (as it is for a token verified afresh), and an entry
 * counts only while its key is still the one the key store verifies with for that kid: a retired
 * key, or a reloaded key set, makes every entry under it verify afresh.
 */
import type { KeyObject } from 'node:crypto'
import type { KeyStore } from '../keys/key-store.js'
import type { VerifiedAccessToken } from './verify.js'
import { LruMap } from '../lru-map.js'

interface Entry {
  readonly claims: VerifiedAccessToken
  readonly kid: string
  readonly key: KeyObject
}

/** Enough for the tokens in use against a busy instance at once; about 2 KiB each. */
const DEFAULT_CAPACITY = 10_000

export class VerifiedTokenCache {
  readonly #entries: LruMap<string, Entry>

  constructor(readonly capacity = DEFAULT_CAPACITY) {
    this.#entries = new LruMap(capacity)
  }

  /** The claims of `token` verified for `audience`, while unexpired at `now` and its key still verifies. */
  get(token: string, audience: string | undefined, keys: KeyStore, now: number): VerifiedAccessToken | undefined {
    const id = entryId(token, audience)
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    // jose's rule (RFC 7519 §4.1.4): expired once exp <= now.
    if (entry.claims.exp <= now || keys.verificationKey(entry.kid) !== entry.key) {
      this.#entries.delete(id)
      return undefined
    }
    return entry.claims
  }

  remember(token: string, audience: string | undefined, claims: VerifiedAccessToken, kid: string, key: KeyObject): void {
    this.#entries.set(entryId(token, audience), { claims: Object.freeze(claims), kid, key })
  }

  get size(): number {
    return this.#entries.size
  }
}

// A token never contains a newline (its characters are base64url and dots).
const entryId = (token: string, audience: string | undefined) => `${audience ?? ''}\n${token}`
