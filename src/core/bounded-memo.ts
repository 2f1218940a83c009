/**
 * @module BoundedMemo: results kept by key on a hot path (canonical URIs, HMAC pads, SignedHeaders
 * lists, parsed URNs), bounded so that keys a client makes up cannot grow it: when full it starts
 * over. Clearing costs one miss per live key; an LRU's bookkeeping would cost every hit.
 */
export class BoundedMemo<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #capacity: number

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Keeps `value` under `key` (emptying the memo first when it is full) and returns it. */
  set(key: K, value: V): V {
    if (this.#entries.size >= this.#capacity) {
      this.#entries.clear()
    }
    this.#entries.set(key, value)
    return value
  }
}
