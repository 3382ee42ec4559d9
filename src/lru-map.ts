/**
 * A Map of at most `limit` entries that drops the least recently used one first: the caches of
 * verified tokens, DPoP proof keys and client key sets, which an attacker can fill with new
 * entries but never make grow without bound. (A Map iterates in insertion order, so the entry
 * used longest ago is the first.)
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(readonly limit: number) {}

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value as K)
    this.#entries.set(key, value)
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  get size(): number {
    return this.#entries.size
  }
}
