/**
 * @module Test support (not exported): opens Cluster objects on the machine's NATS under a fresh
 * prefix with short timings, and removes the prefix's buckets afterwards.
 */
import { connect } from 'nats'
import { pino } from 'pino'
import type { Cluster } from './cluster-types.js'
import { clusterBuckets, openCluster, type ClusterTimings } from './open-cluster.js'

export const FAST_TIMINGS: ClusterTimings = {
  heartbeatMs: 200,
  memberTtlMs: 1_200,
  lease: { ttlMs: 1_500, renewMs: 250, stepDownAfterMs: 1_000 },
}

export interface ClusterKit {
  readonly prefix: string
  open(nodeId: string, timings?: ClusterTimings): Promise<Cluster>
  cleanup(): Promise<void>
}

export function clusterKit(natsUrl: string, prefix: string): ClusterKit {
  const opened: Cluster[] = []
  return {
    prefix,
    async open(nodeId: string, timings: ClusterTimings = FAST_TIMINGS): Promise<Cluster> {
      const cluster = await openCluster({
        settings: {
          natsUrl,
          natsPrefix: prefix,
          nodeId,
          storeUrl: undefined,
          masterKeyFile: '/nonexistent',
        },
        logger: pino({ level: 'silent' }),
        timings,
      })
      opened.push(cluster)
      return cluster
    },
    /** Closes every cluster object and deletes the prefix's buckets. */
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((c) => c.close().catch(() => undefined)))
      const nc = await connect({ servers: natsUrl })
      try {
        const jsm = await nc.jetstreamManager()
        for (const bucket of Object.values(clusterBuckets(prefix))) {
          await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined)
        }
      } finally {
        await nc.close()
      }
    },
  }
}

/** Resolves once `check` holds, polling; rejects after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 8_000,
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) {
      return value
    }
    if (Date.now() > until) {
      throw new Error('condition not met in time')
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}
