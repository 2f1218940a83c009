/**
 * @module How a node's caches of shared rows stay exact in cluster mode (ADR 0025): after each write
 * commits, the repository announces the key it wrote on `ClusterChanges`; every other node drops
 * that key from the same cache (a later read loads the row again), and drops everything when it
 * may have missed announcements (`onResync`). On one embedded node `SINGLE_NODE_CHANGES` makes
 * both sides no-ops.
 */
import type { ClusterChanges } from '../core/index.js'
import type { ReadThroughCache } from './read-through-cache.js'

/**
 * The announcement topics of the store's caches: letters, digits and '-' (the NATS carrier makes
 * subjects of them); keys are arbitrary strings, carried in the message body.
 */
export const CACHE_TOPICS = {
  functions: 'store-functions',
  versions: 'store-versions',
  aliases: 'store-aliases',
  asyncConfigs: 'store-async-configs',
  tracing: 'store-tracing',
  tenants: 'store-tenants',
  logSettings: 'store-log-settings',
  triggers: 'store-triggers',
} as const

/**
 * A key ending with this separator stands for every key it begins (all of one function's entries):
 * the repositories' compound keys are `<function id>\u0000<name>`.
 */
const PREFIX_END = '\u0000'

/** Tells the other nodes that `key` (or, ending with NUL, every key it prefixes; or all) changed. */
export type Announce = (key?: string) => void

/**
 * Links `cache` to the cluster under `topic`: other nodes' announcements invalidate it, a resync
 * empties it. Returns what the owner calls after each of its committed writes.
 */
export function linkCache<V>(
  cache: ReadThroughCache<string, V>,
  changes: ClusterChanges,
  topic: string,
): Announce {
  changes.subscribe(topic, (key) => {
    if (key === undefined) {
      cache.invalidateAll()
    } else if (key.endsWith(PREFIX_END)) {
      cache.invalidateWhere((k) => k.startsWith(key))
    } else {
      cache.invalidate(key)
    }
  })
  changes.onResync(() => cache.invalidateAll())
  return (key) => changes.publish(topic, key)
}

/**
 * Runs `reload` (a whole in-memory table read again) when another node announces on `topic` or a
 * resync is due; a reload that a newer one overtook is dropped by the caller's generation check.
 */
export function reloadOnChange(
  changes: ClusterChanges,
  topic: string,
  reload: () => Promise<void>,
  onError: (err: unknown) => void,
): Announce {
  const run = (): void => {
    reload().catch(onError)
  }
  changes.subscribe(topic, run)
  changes.onResync(run)
  return (key) => changes.publish(topic, key)
}
