/** @module scheduler: the local instance pool, which implements core's Invoker port. */
export { InstancePool } from './instance-pool.js'
export type { InstancePoolOptions } from './instance-pool.js'
export type { CodeVerifier, InvocationLogSink, Launcher, PooledInstance } from './pool-ports.js'
