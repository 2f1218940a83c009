/**
 * @module ReadThroughCache: the one cache the repositories keep (functions, versions, aliases,
 * async configs, key pairs). A repository invalidates what it writes; a backend shared by several
 * nodes also calls `invalidate` when it hears that another node wrote, which is the only thing
 * that makes a cache of a shared database exact.
 */

/** Told of every invalidation: the key, or undefined when everything (or a selection) went. */
export type InvalidationListener<K> = (key: K | undefined) => void

/**
 * A map filled on first read. A hit is one `Map` lookup and hands back the value itself (no
 * promise). `undefined` is never cached, so misses are not either; to cache a miss, load a
 * sentinel such as `null`. A load that overlapped an invalidation (or a `set`) returns what it
 * read but does not fill the cache: it may have read what the invalidation was about.
 */
export class ReadThroughCache<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #listeners = new Set<InvalidationListener<K>>()
  /** Bumped by every write to the cache other than a fill. */
  #generation = 0

  /** The cached value, or undefined. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)
  }

  /**
   * The cached value, else `load(key)`'s, cached unless undefined. On hot paths pass a `load`
   * made once (it gets the key), not a closure made per call.
   */
  get(key: K, load: (key: K) => Promise<V | undefined>): V | Promise<V | undefined> {
    const hit = this.#entries.get(key)
    return hit !== undefined ? hit : this.#fill(key, load)
  }

  async #fill(key: K, load: (key: K) => Promise<V | undefined>): Promise<V | undefined> {
    const generation = this.#generation
    const value = await load(key)
    if (value !== undefined && generation === this.#generation) {
      this.#entries.set(key, value)
    }
    return value
  }

  /** Caches a value its owner has just written (write-through). */
  set(key: K, value: V): void {
    this.#generation++
    this.#entries.set(key, value)
  }

  /** Forgets one key: after a write to it, here or on another node. */
  invalidate(key: K): void {
    this.#generation++
    this.#entries.delete(key)
    this.#tell(key)
  }

  /** Forgets every key `matches` selects (e.g. everything of one function). */
  invalidateWhere(matches: (key: K) => boolean): void {
    this.#generation++
    for (const key of [...this.#entries.keys()]) {
      if (matches(key)) {
        this.#entries.delete(key)
      }
    }
    this.#tell(undefined)
  }

  invalidateAll(): void {
    this.#generation++
    this.#entries.clear()
    this.#tell(undefined)
  }

  /** Calls `listener` after every invalidation; returns the unsubscribe. */
  onInvalidate(listener: InvalidationListener<K>): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #tell(key: K | undefined): void {
    for (const listener of this.#listeners) {
      listener(key)
    }
  }
}
