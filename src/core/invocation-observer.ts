/**
 * @module The invocation observer port: what the instance pool reports of every outcome as it
 * happens, for metrics and usage. The pool calls it on its hot path, so an implementation only
 * bumps counters in memory (no I/O, no awaiting) and never throws.
 */
import type { FunctionRecord } from './function.js'
import type { InvocationRecord } from './invocation-log.js'

export interface InvocationObserver {
  /** An invocation got an instance (or failed to start one) and is about to run. */
  began(fn: FunctionRecord): void
  /**
   * One outcome, as logged. `queueWaitMs` is the time spent waiting for an instance (starts
   * excluded); `initMs` is how long the instance this request started took to be ready, or -1 when
   * it ran on a warm one.
   */
  finished(fn: FunctionRecord, record: InvocationRecord, queueWaitMs: number, initMs: number): void
  /** A call that began failed without an outcome (a system error while it ran). */
  broke(fn: FunctionRecord, code: string): void
  /**
   * A call refused before it ran: `TOO_MANY_REQUESTS` is a throttle (not an invocation); other
   * codes count as system errors when they are the platform's fault.
   */
  refused(fn: FunctionRecord, code: string, userFault: boolean): void
}
