/**
 * @module `openCluster`: the NATS-backed cluster when `natsUrl` is set, the cluster of one when
 * not. Every stream, bucket and subject it makes starts with `settings.natsPrefix`.
 */
import { connect, Events, type KV, type NatsConnection } from 'nats'
import type { ClusterSettings } from '../config/index.js'
import { StratoError } from '../core/index.js'
import type { Logger } from '../observability/index.js'
import type { Cluster, Leadership, MemberInfo } from './cluster-types.js'
import { KvInstanceSlots } from './instance-slots.js'
import { Lease, type LeaseTimings } from './lease.js'
import { Membership } from './membership.js'
import { NatsChanges } from './nats-changes.js'
import { singleNodeCluster } from './single-node.js'

/** Failure timings (ADR 0027); tests shorten them. */
export interface ClusterTimings {
  readonly heartbeatMs: number
  /** Membership bucket max age: a node silent this long is gone. */
  readonly memberTtlMs: number
  readonly lease: LeaseTimings
}

export const DEFAULT_CLUSTER_TIMINGS: ClusterTimings = Object.freeze({
  heartbeatMs: 1_000,
  memberTtlMs: 5_000,
  lease: Object.freeze({ ttlMs: 6_000, renewMs: 1_000, stepDownAfterMs: 4_000 }),
})

export interface OpenClusterOptions {
  readonly settings: ClusterSettings
  readonly logger: Logger
  readonly advertise?: { readonly apiUrl?: string }
  readonly timings?: ClusterTimings
}

/** The bucket names of a prefix (tests remove them). */
export function clusterBuckets(prefix: string): { members: string; leases: string; slots: string } {
  return { members: `${prefix}_members`, leases: `${prefix}_leases`, slots: `${prefix}_slots` }
}

export async function openCluster(options: OpenClusterOptions): Promise<Cluster> {
  const { settings } = options
  if (settings.natsUrl === undefined) {
    return singleNodeCluster(settings.nodeId, options.advertise?.apiUrl)
  }
  const timings = options.timings ?? DEFAULT_CLUSTER_TIMINGS
  if (timings.lease.stepDownAfterMs >= timings.lease.ttlMs) {
    throw new StratoError('INVALID_PARAMETER', 'A lease holder must step down before it expires.')
  }
  let nc: NatsConnection
  try {
    nc = await connect({
      servers: settings.natsUrl,
      name: `strato-${settings.nodeId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    })
  } catch (err) {
    throw new StratoError(
      'SERVICE_UNAVAILABLE',
      `Cannot reach NATS at ${settings.natsUrl}: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  try {
    return await NatsCluster.open(nc, options, timings)
  } catch (err) {
    await nc.close()
    throw err
  }
}

class NatsCluster implements Cluster {
  readonly mode = 'cluster' as const
  readonly nodeId: string
  readonly changes: NatsChanges
  readonly instanceSlots: KvInstanceSlots
  readonly nats: NatsConnection
  readonly #membership: Membership
  readonly #leasesKv: KV
  readonly #timings: ClusterTimings
  readonly #log: Logger
  readonly #leases = new Map<string, Lease>()
  #connected = true
  #closing: Promise<void> | undefined

  private constructor(
    nc: NatsConnection,
    nodeId: string,
    parts: { membership: Membership; leases: KV; slots: KV },
    timings: ClusterTimings,
    log: Logger,
    prefix: string,
  ) {
    this.nats = nc
    this.nodeId = nodeId
    this.#membership = parts.membership
    this.#leasesKv = parts.leases
    this.#timings = timings
    this.#log = log
    this.changes = new NatsChanges(nc, prefix, nodeId, log)
    this.instanceSlots = new KvInstanceSlots(
      parts.slots,
      nodeId,
      async () => new Set((await this.members()).map((m) => m.nodeId)),
      log,
    )
  }

  static async open(
    nc: NatsConnection,
    options: OpenClusterOptions,
    timings: ClusterTimings,
  ): Promise<NatsCluster> {
    const { settings, logger } = options
    const names = clusterBuckets(settings.natsPrefix)
    const js = nc.jetstream()
    // Max age is per bucket on NATS 2.9 (no per-key TTL): it is what expires silent members and
    // unrenewed leases. History 1: only the latest value of a key matters.
    const members = await js.views.kv(names.members, { history: 1, ttl: timings.memberTtlMs })
    const leases = await js.views.kv(names.leases, { history: 1, ttl: timings.lease.ttlMs })
    // Slots have no age: an instance may run for days; a dead holder's slots are taken over.
    const slots = await js.views.kv(names.slots, { history: 1 })
    const now = Date.now()
    const self: MemberInfo = {
      nodeId: settings.nodeId,
      startedAt: now,
      heartbeatAt: now,
      draining: false,
      ...(options.advertise?.apiUrl === undefined ? {} : { apiUrl: options.advertise.apiUrl }),
    }
    const membership = new Membership(members, self, timings.heartbeatMs, logger)
    const cluster = new NatsCluster(
      nc,
      settings.nodeId,
      { membership, leases, slots },
      timings,
      logger,
      settings.natsPrefix,
    )
    const leftovers = await cluster.instanceSlots.releaseLeftovers()
    if (leftovers > 0) {
      logger.warn({ slots: leftovers }, 'gave back instance slots a previous run of this node held')
    }
    await membership.join()
    cluster.instanceSlots.startSweeping()
    cluster.#watchStatus()
    return cluster
  }

  #watchStatus(): void {
    void (async () => {
      for await (const status of this.nats.status()) {
        if (status.type === Events.Disconnect) {
          this.#connected = false
          this.#log.warn('NATS connection lost; reconnecting')
        } else if (status.type === Events.Reconnect) {
          this.#connected = true
          this.#log.info('NATS connection back')
          // Announcements sent while we were away are lost: caches start over.
          this.changes.resync()
          // Slots whose release failed while NATS was away are given back now.
          this.instanceSlots
            .retryReleases()
            .catch((err: unknown) => this.#log.warn({ err }, 'giving back instance slots failed'))
        }
      }
    })().catch((err: unknown) => this.#log.warn({ err }, 'watching the NATS connection failed'))
  }

  connected(): boolean {
    return this.#connected && !this.nats.isClosed()
  }

  members(): Promise<MemberInfo[]> {
    return this.#membership.members()
  }

  leadership(name: string): Leadership {
    let lease = this.#leases.get(name)
    if (lease === undefined) {
      lease = new Lease(this.#leasesKv, name, this.nodeId, this.#timings.lease, this.#log)
      this.#leases.set(name, lease)
      if (this.#closing === undefined) {
        lease.start()
      }
    }
    return lease
  }

  get draining(): boolean {
    return this.#membership.draining
  }

  setDraining(): Promise<void> {
    return this.#membership.setDraining()
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.instanceSlots.stopSweeping()
    // Each step is best effort: what cannot be given back expires (leases, membership) or is
    // taken over (slots of a node that left membership).
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['giving up leases', () => Promise.all([...this.#leases.values()].map((l) => l.close()))],
      ['giving back instance slots', () => this.instanceSlots.releaseAll()],
      ['leaving membership', () => this.#membership.leave()],
      ['closing NATS', () => this.nats.drain()],
    ]
    for (const [what, step] of steps) {
      if (this.nats.isClosed()) {
        break
      }
      try {
        await step()
      } catch (err) {
        this.#log.warn({ err }, `${what} failed`)
      }
    }
  }
}
