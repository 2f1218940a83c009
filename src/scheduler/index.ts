/** @module scheduler: the local instance pool, which implements core's Invoker port. */
export { InstancePool } from './instance-pool.js'
export type { InstancePoolOptions } from './instance-pool.js'
export type {
  CodeVerifier,
  InstanceSlotClaims,
  InvocationLogSink,
  Launcher,
  PooledInstance,
} from './pool-ports.js'
export { ReservationKeeper, reservedTargetResolver } from './reservation-keeper.js'
export type {
  ReservationKeeperOptions,
  ReservationStatus,
  ReservingPool,
} from './reservation-keeper.js'
export { checkReservedCron, reservedCountAt } from './reserved-schedule.js'
export { RESERVED_METRICS_MINUTES } from './reserved-metrics.js'
export type { MinuteValue } from './reserved-metrics.js'
