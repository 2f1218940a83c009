/**
 * @module The cluster of one: always leader, members = [self], no slots (the pool's local limit
 * already bounds instances), no NATS. What Strato runs with when `STRATO_NATS_URL` is unset.
 */
import { SINGLE_NODE_CHANGES } from '../core/index.js'
import type { Cluster, Leadership, MemberInfo } from './cluster-types.js'

class SoleLeadership implements Leadership {
  readonly name: string
  readonly #nodeId: string
  #closed = false

  constructor(name: string, nodeId: string) {
    this.name = name
    this.#nodeId = nodeId
  }

  isLeader(): boolean {
    return !this.#closed
  }

  token(): number | undefined {
    return this.#closed ? undefined : 1
  }

  onChange(listener: (isLeader: boolean) => void): () => void {
    listener(this.isLeader())
    return () => undefined
  }

  holder(): Promise<{ nodeId: string; revision: number } | undefined> {
    return Promise.resolve(this.#closed ? undefined : { nodeId: this.#nodeId, revision: 1 })
  }

  close(): Promise<void> {
    this.#closed = true
    return Promise.resolve()
  }
}

export function singleNodeCluster(nodeId: string, apiUrl?: string): Cluster {
  const startedAt = Date.now()
  const leases = new Map<string, SoleLeadership>()
  let draining = false
  return {
    nodeId,
    mode: 'single',
    changes: SINGLE_NODE_CHANGES,
    members(): Promise<MemberInfo[]> {
      const me: MemberInfo = {
        nodeId,
        startedAt,
        heartbeatAt: Date.now(),
        draining,
        ...(apiUrl === undefined ? {} : { apiUrl }),
      }
      return Promise.resolve([me])
    },
    leadership(name: string): Leadership {
      let lease = leases.get(name)
      if (lease === undefined) {
        lease = new SoleLeadership(name, nodeId)
        leases.set(name, lease)
      }
      return lease
    },
    instanceSlots: undefined,
    nats: undefined,
    connected: () => true,
    setDraining() {
      draining = true
      return Promise.resolve()
    },
    get draining() {
      return draining
    },
    async close() {
      for (const lease of leases.values()) {
        await lease.close()
      }
    },
  }
}
