/**
 * @module The seam between one node and the others of a cluster (docs/cluster.md): announcements of
 * what a node wrote that the others cache. The embedded default has no other nodes; a NATS-backed
 * implementation (`src/cluster/`) carries them between nodes.
 */

/**
 * What one node wrote that other nodes keep in memory (caches of functions, versions, aliases,
 * async configs, key pairs, log switches; the trigger change feed). Delivery is at most once and
 * quick (NATS core); a node that missed some (reconnect) is told through `onResync` to drop
 * everything of every topic.
 */
export interface ClusterChanges {
  /**
   * Tells every other node (never this one) that `key` of `topic` changed; no key: all of the
   * topic. Call it after the write committed. Never throws, never waits.
   */
  publish(topic: string, key?: string): void
  /** `listener` hears other nodes' publishes on `topic`. */
  subscribe(topic: string, listener: (key: string | undefined) => void): void
  /** `listener` runs when this node may have missed announcements (a reconnect). */
  onResync(listener: () => void): void
}

/** The embedded default: one node, nobody to tell, nothing to hear. */
export const SINGLE_NODE_CHANGES: ClusterChanges = Object.freeze({
  publish: () => undefined,
  subscribe: () => undefined,
  onResync: () => undefined,
})

/**
 * Code packages stored once for the whole cluster (cluster mode): content addressed by their
 * SHA-512 digest, immutable. Nodes keep extracted trees locally and fetch a package they lack,
 * checking its digest before extracting it.
 */
export interface CodeObjects {
  /** Stores the package under its digest; resolves once durable. Storing it again is harmless. */
  put(digest: string, bytes: Buffer): Promise<void>
  /** The package, or undefined when the cluster does not hold it. */
  get(digest: string): Promise<Buffer | undefined>
  /** Removes it (garbage collection by the node holding the collector's lease). */
  delete(digest: string): Promise<void>
}
