/**
 * @module What `InstancePool` needs of the runtime and the store, declared as slices: the pool
 * depends on these and on no concrete class. `main.ts` hands it runtime's `InstanceLauncher` (whose
 * `Instance` is a `PooledInstance`), `CodeStore` and `InvocationLogStore`, which satisfy them
 * structurally; the pool's unit tests hand it fakes, so hand-off, eviction and max-instance logic
 * is tested without processes.
 */
import type { InvocationRecord } from '../core/index.js'
import type { GuestOutcome, InstanceState, InvokeInput, LaunchRequest } from '../runtime/index.js'

/** What the pool calls on one running instance. */
export interface PooledInstance {
  /** The pool hands out only `idle` or `busy` instances; any other state is on its way out. */
  readonly state: InstanceState
  /** Whether another caller may claim a slot now (`concurrent_num` slots per instance). */
  readonly hasRoom: boolean
  /** Slots claimed and not yet given back. */
  readonly claimed: number
  /** When the last invocation ended (ms since the epoch); idle instances age out from here. */
  lastUsedAt: number
  /** Takes a slot for an invocation about to be sent; false when there is no room. */
  claim(): boolean
  unclaim(): void
  /** Runs one invocation on a claimed slot; the function's failures resolve, never reject. */
  invoke(input: InvokeInput): Promise<GuestOutcome>
  /** Kills the instance; idempotent. Its `onExit` listeners run once it is gone. */
  stop(): Promise<void>
  /** Called once when the instance is gone, whatever the reason (a crash included). */
  onExit(listener: () => void): void
}

/**
 * Starts an instance ready to serve: resolves once its handler is loaded and initialised, rejects
 * with `FunctionFailure` when the code failed to start, or with `StratoError`.
 */
export interface Launcher {
  launch(request: LaunchRequest): Promise<PooledInstance>
}

/** The verified code tree of a digest; refuses (throws) code that changed. */
export interface CodeVerifier {
  verify(digest: string): Promise<string>
}

/** Where each invocation's log entry goes (the invocation log store). */
export interface InvocationLogSink {
  append(record: InvocationRecord, projectId: string, functionId: string): void
}

/**
 * Cluster-wide instance slots (cluster's `InstanceSlots` has this shape): the pool claims one
 * before it launches an instance and gives it back when the instance is gone. Absent on a single
 * node, where the pool's own count is the limit.
 */
export interface InstanceSlotClaims {
  /**
   * One of the `max` slots of the function (all its versions share them, as they share the local
   * cap), or undefined when all are held.
   */
  claim(functionId: string, max: number): Promise<{ release(): Promise<void> } | undefined>
}
