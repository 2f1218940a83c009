/**
 * @module The cluster seam the rest of Strato sees: which nodes are up, which node leads a duty,
 * and slots that bound a function's instances across the cluster. NATS-backed in cluster mode,
 * trivial (one node, always leader, no slots) otherwise.
 */
import type { NatsConnection } from 'nats'
import type { ClusterChanges } from '../core/index.js'

/** One node as membership shows it. */
export interface MemberInfo {
  readonly nodeId: string
  /** When the node started (ms since the epoch, its own clock). */
  readonly startedAt: number
  /** Its last heartbeat (ms since the epoch, its own clock). */
  readonly heartbeatAt: number
  /** Draining: finishing what runs, taking nothing new. */
  readonly draining: boolean
  /** The node's API URL, when it said one. */
  readonly apiUrl?: string
}

/** A named duty that one node of the cluster performs at a time. */
export interface Leadership {
  readonly name: string
  /** This node holds the lease now (and has renewed it within its safe window). */
  isLeader(): boolean
  /**
   * The fencing token of this node's current term (the lease's revision when it was taken; it
   * only grows from term to term), undefined when not leader.
   */
  token(): number | undefined
  /** `listener` hears every change of `isLeader()`; called at once with the current value. */
  onChange(listener: (isLeader: boolean) => void): () => void
  /** Who holds the lease now as the cluster sees it (undefined: nobody). */
  holder(): Promise<{ readonly nodeId: string; readonly revision: number } | undefined>
  /** Gives the lease up (if held) and stops competing for it. */
  close(): Promise<void>
}

/** One claimed instance slot; given back when its instance ends. */
export interface SlotHold {
  readonly key: string
  release(): Promise<void>
}

/** Slots bounding the instances of a function (all its versions together) across the cluster. */
export interface InstanceSlots {
  /**
   * Claims one of the `max` slots of `functionId`: undefined when every slot is held by a live
   * node. Never throws for contention; throws when NATS fails.
   */
  claim(functionId: string, max: number): Promise<SlotHold | undefined>
  /** Slots this node holds now (for tests and info). */
  held(): number
}

/** This node's view of the cluster and its part in it. */
export interface Cluster {
  readonly nodeId: string
  readonly mode: 'single' | 'cluster'
  readonly changes: ClusterChanges
  /** The members alive now (this node included once it joined). */
  members(): Promise<MemberInfo[]>
  /** The lease `name` (one object per name: asking again returns the same). */
  leadership(name: string): Leadership
  /** Cluster-wide instance slots; undefined in single-node mode (the local limit holds). */
  readonly instanceSlots: InstanceSlots | undefined
  /** The NATS connection, for other parts (code objects); undefined in single-node mode. */
  readonly nats: NatsConnection | undefined
  /** Whether NATS is reachable now (always true in single-node mode). */
  connected(): boolean
  /** Marks this node draining in membership (readiness goes 503; work stops being taken). */
  setDraining(): Promise<void>
  readonly draining: boolean
  /** Leaves membership, gives up leases and slots, closes NATS. Idempotent. */
  close(): Promise<void>
}

/** The duty names Strato uses. */
export const LEADER_DUTY = 'strato-leader'
