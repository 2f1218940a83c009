/**
 * @module cluster: membership, leadership leases, cluster-wide instance slots and the change feed
 * between nodes and the shared code packages (NATS JetStream); one node with no NATS when `STRATO_NATS_URL` is unset.
 */
export { NatsCodeObjects, type StoredCodeObject } from './nats-code-objects.js'
export type { Cluster, InstanceSlots, Leadership, MemberInfo, SlotHold } from './cluster-types.js'
export { LEADER_DUTY } from './cluster-types.js'
export {
  DEFAULT_CLUSTER_TIMINGS,
  clusterBuckets,
  openCluster,
  type ClusterTimings,
  type OpenClusterOptions,
} from './open-cluster.js'
export type { LeaseTimings } from './lease.js'
export { singleNodeCluster } from './single-node.js'
export { Readiness } from './readiness.js'
export type { ReadinessCheck, ReadinessReport } from './readiness.js'
