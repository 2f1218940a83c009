/** @module The instances of one function revision, and the requests waiting for one of them. */
import { StratoError, type FunctionRecord } from '../core/index.js'
import type { PooledInstance } from './pool-ports.js'

/** A request waiting for an instance of its revision. */
export interface Waiter {
  readonly resolve: (instance: PooledInstance) => void
  readonly reject: (err: unknown) => void
  /** Clears the waiter's timer and abort listener once it leaves the queue. */
  readonly settle: () => void
}

/** The instances of one function revision. */
export interface RevisionPool {
  readonly key: string
  readonly functionId: string
  readonly revision: number
  /** The function as last invoked through this pool, to start replacements with. */
  fn: FunctionRecord
  readonly idle: PooledInstance[]
  readonly busy: Set<PooledInstance>
  starting: number
  readonly waiters: Waiter[]
  /** A newer revision exists or the function is gone: no new work, instances stop when free. */
  retired: boolean
  /**
   * Reserved instances (idle or busy, also listed there): never reclaimed when idle, never evicted
   * for another version, handed out first. `reservedStarting` are on their way.
   */
  readonly reserved: Set<PooledInstance>
  reservedStarting: number
  /** The memory size (MB) its instances run with: dynamic memory pools sizes apart. */
  readonly memorySizeMb: number
}

export function newRevisionPool(key: string, fn: FunctionRecord, retired: boolean): RevisionPool {
  return {
    key,
    functionId: fn.id,
    revision: fn.revision,
    fn,
    idle: [],
    busy: new Set(),
    starting: 0,
    waiters: [],
    retired,
    reserved: new Set(),
    reservedStarting: 0,
    memorySizeMb: fn.memorySizeMb,
  }
}

/** Nothing left: no instance in any state and no request waiting. */
export function isEmpty(pool: RevisionPool): boolean {
  return (
    pool.idle.length === 0 &&
    pool.busy.size === 0 &&
    pool.starting === 0 &&
    pool.reservedStarting === 0 &&
    pool.waiters.length === 0
  )
}

/** Ends every request waiting in the pool with `err`; none of them runs. */
export function rejectWaiters(pool: RevisionPool, err: unknown): void {
  for (const waiter of pool.waiters.splice(0)) {
    waiter.settle()
    waiter.reject(err)
  }
}

/** What a request waiting for an instance gets when its function or version is deleted. */
export function deletedWhileWaiting(version: string | undefined): StratoError {
  return version === undefined
    ? new StratoError(
        'FUNCTION_NOT_FOUND',
        'The function was deleted while this request waited for an instance.',
      )
    : new StratoError(
        'VERSION_NOT_FOUND',
        `The version '${version}' was deleted while this request waited for an instance.`,
      )
}
