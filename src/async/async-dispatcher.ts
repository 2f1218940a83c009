/**
 * @module AsyncDispatcher: leases due events from the AsyncQueue, runs them through the Invoker
 * within each function's share of instances, and settles every attempt: success, retry (function
 * or system error) or a terminal failure, with its destination and dead letter.
 */
import {
  AsyncErrorCodes,
  DEFAULT_ASYNC_SETTINGS,
  deletedTargetMessage,
  instanceConcurrencyOf,
  isStratoError,
  runtimeFamilyOf,
  type AsyncInvokeConfig,
  type AsyncQueue,
  type AsyncSettlement,
  type CallerPresence,
  type DeletedAsyncTarget,
  type FunctionRecord,
  type InvocationResult,
  type Invoker,
  type LeasedEvent,
  type RecoveredLease,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import type {
  AsyncConfigOf,
  AsyncTarget,
  AttemptLog,
  ResolveAsyncTarget,
} from './dispatcher-ports.js'
import type { RetryPolicy } from './retry-policy.js'
import { isInstanceCrash, lostAttemptRecord, terminalSettlement } from './settlements.js'

export interface AsyncDispatcherOptions {
  readonly queue: AsyncQueue
  readonly invoker: Invoker
  readonly attemptLog: AttemptLog
  /** Resolves a URN within a project; throws StratoError FUNCTION/VERSION/ALIAS_NOT_FOUND. */
  readonly resolve: ResolveAsyncTarget
  readonly configOf: AsyncConfigOf
  readonly retryPolicy: RetryPolicy
  readonly logger: Logger
  /** Attempts in flight at once, all functions together. */
  readonly concurrency: number
  readonly pollMs: number
  /** The platform's cap on instances per function (`STRATO_MAX_INSTANCES_PER_FUNCTION`). */
  readonly maxInstancesPerFunction: number
  /**
   * This node's id (`config.cluster.nodeId`): a lease the sweep recovers from another node is an
   * attempt that will never log itself.
   */
  readonly nodeId: string
  /** How often expired leases are swept back to the queue (default 5 s; tests shorten it). */
  readonly leaseSweepMs?: number
}

const GONE_CODES = ['FUNCTION_NOT_FOUND', 'VERSION_NOT_FOUND', 'ALIAS_NOT_FOUND'] as const

/** How often leases that outlived their deadline (here or on another node) are returned. */
const LEASE_SWEEP_MS = 5_000
/** Waiting events of a deleted version or alias are discarded this many at a time. */
const DISCARD_BATCH = 500

/**
 * One leased event in this process, from its lease to its settlement. `deleted` is set when its
 * function, version or alias is deleted: an attempt that has not reached an instance then never
 * does (the invoker sees its caller gone), and it is discarded.
 */
interface Attempt {
  readonly event: LeasedEvent
  deleted: DeletedAsyncTarget | undefined
  readonly onDeleted: Set<() => void>
  readonly caller: CallerPresence
}

function isOf(event: LeasedEvent, target: DeletedAsyncTarget): boolean {
  return (
    event.functionId === target.functionId &&
    (target.qualifier === undefined || event.qualifier === target.qualifier)
  )
}

/**
 * Lifecycle: `start()` returns every lease of a previous run to the queue (their process is gone)
 * and starts polling; `stop()` stops leasing; `idle()` resolves when no attempt is in flight;
 * `abandon()` drops the results of attempts still running (their leases stay and are recovered as
 * system retries at the next start, so a shutdown never counts against the retry budget).
 */
export class AsyncDispatcher {
  readonly #o: AsyncDispatcherOptions
  #inflight = 0
  readonly #inflightByFunction = new Map<string, number>()
  /** Async share of each function's instances, learnt when it is resolved (1 until then). */
  readonly #shareByFunction = new Map<string, number>()
  #leasing = false
  #again = false
  #stopped = true
  #abandoned = false
  #pollTimer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #idleWaiters: Array<() => void> = []
  readonly #attempts = new Set<Attempt>()

  constructor(options: AsyncDispatcherOptions) {
    this.#o = options
    options.queue.onReady(() => this.#pump())
    options.queue.onDeleted((target) => this.#onDeleted(target))
  }

  async start(): Promise<void> {
    const recovered = await this.#o.queue.recoverLeases({ nowMs: Date.now(), all: true })
    if (recovered.length > 0) {
      // Their attempts left no log of their own (or one the store keeps: an entry for the same
      // attempt is ignored), so each gets one saying what happened.
      this.#logLost(recovered)
      this.#o.logger.warn(
        { recovered: recovered.length },
        'async events of a previous run returned to the queue',
      )
    }
    this.#stopped = false
    this.#pollTimer = setInterval(() => this.#pump(), this.#o.pollMs)
    this.#pollTimer.unref()
    this.#sweepTimer = setInterval(() => {
      this.#o.queue
        .recoverLeases({ nowMs: Date.now(), all: false })
        .then((recovered) => {
          // This node's attempts may still be running here and will log themselves. Another
          // node's (in a cluster: usually a node that died) never will: each gets its log here,
          // or the record's attempts would count an attempt with no log entry.
          this.#logLost(
            recovered.filter((l) => l.owner !== undefined && l.owner !== this.#o.nodeId),
          )
          if (recovered.length > 0) {
            this.#o.logger.warn(
              { recovered: recovered.length },
              'expired async leases returned to the queue',
            )
          }
        })
        .catch((err: unknown) => this.#o.logger.error({ err }, 'recovering async leases failed'))
    }, this.#o.leaseSweepMs ?? LEASE_SWEEP_MS)
    this.#sweepTimer.unref()
    this.#pump()
  }

  #logLost(leases: readonly RecoveredLease[]): void {
    for (const lease of leases) {
      this.#o.attemptLog.append(lostAttemptRecord(lease), lease.projectId, lease.functionId)
    }
  }

  /**
   * For `GET /strato/info`: attempts running on instances, and attempts that have run and whose
   * settlement waits for its commit.
   */
  stats(): { inflight: number; settling: number } {
    let running = 0
    for (const n of this.#inflightByFunction.values()) {
      running += n
    }
    return { inflight: running, settling: this.#inflight - running }
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#pollTimer)
    clearInterval(this.#sweepTimer)
  }

  idle(): Promise<void> {
    if (this.#inflight === 0) {
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  abandon(): void {
    this.stop()
    this.#abandoned = true
  }

  /**
   * Backpressure: async work may use all but one of a function's slots (max instances times
   * what one instance serves at once: `concurrent_num`, capped by the runtime family), at least one, so a synchronous caller
   * always finds room or a short wait, never a queue full of async work.
   */
  #room(functionId: string): number {
    const share = this.#shareByFunction.get(functionId) ?? 1
    return share - (this.#inflightByFunction.get(functionId) ?? 0)
  }

  #learnShare(fn: FunctionRecord): void {
    const cap = this.#o.maxInstancesPerFunction
    const instances = fn.maxInstances < 0 ? cap : Math.min(fn.maxInstances, cap)
    const perInstance = instanceConcurrencyOf(runtimeFamilyOf(fn.runtime), fn.concurrentNum)
    const share = Math.min(this.#o.concurrency, Math.max(1, instances * perInstance - 1))
    const before = this.#shareByFunction.get(fn.id)
    this.#shareByFunction.set(fn.id, share)
    if (before === undefined || share > before) {
      // More room than assumed: lease more now rather than at the next poll.
      queueMicrotask(() => this.#pump())
    }
  }

  #pump(): void {
    if (this.#stopped) {
      return
    }
    if (this.#leasing) {
      this.#again = true
      return
    }
    const free = this.#o.concurrency - this.#inflight
    if (free <= 0) {
      return
    }
    this.#leasing = true
    this.#again = false
    this.#o.queue
      .lease({ max: free, nowMs: Date.now(), room: (id) => this.#room(id) })
      .then(
        (events) => {
          for (const event of events) {
            this.#run(event)
          }
        },
        (err: unknown) => this.#o.logger.error({ err }, 'leasing async events failed'),
      )
      .finally(() => {
        this.#leasing = false
        if (this.#again) {
          this.#pump()
        }
      })
  }

  /**
   * A function, version or alias was deleted: its attempts that have not reached an instance never
   * will (those waiting for one leave the line now), and its waiting events are discarded. A whole
   * function's events need no settling: the queue removes them.
   */
  async #onDeleted(target: DeletedAsyncTarget): Promise<void> {
    for (const attempt of this.#attempts) {
      if (attempt.deleted === undefined && isOf(attempt.event, target)) {
        attempt.deleted = target
        for (const listener of [...attempt.onDeleted]) {
          listener()
        }
      }
    }
    if (target.qualifier === undefined) {
      return
    }
    try {
      for (;;) {
        const events = await this.#o.queue.leaseDeleted(target, DISCARD_BATCH, Date.now())
        await Promise.all(
          events.map(async (event) => {
            const config = await this.#o.configOf(event.functionId, event.qualifier)
            await this.#o.queue.settle(event, await this.#discardDeleted(event, config, target))
          }),
        )
        if (events.length < DISCARD_BATCH) {
          return
        }
      }
    } catch (err) {
      // The deletion stands. Events left leased are swept back once their lease ends, and their
      // next attempt finds the version or alias gone: DISCARD all the same, only later.
      this.#o.logger.error({ err, ...target }, 'discarding async events of a deleted target failed')
    }
  }

  #discardDeleted(
    event: LeasedEvent,
    config: AsyncInvokeConfig | undefined,
    target: DeletedAsyncTarget,
  ): Promise<AsyncSettlement> {
    return terminalSettlement(this.#o, event, config, 'DISCARD', {
      errorCode: AsyncErrorCodes.FUNCTION_GONE,
      errorMessage: deletedTargetMessage(target),
      condition: 'FunctionNotFound',
      invokeCount: event.attempt - 1,
    })
  }

  #newAttempt(event: LeasedEvent): Attempt {
    const onDeleted = new Set<() => void>()
    const attempt: Attempt = {
      event,
      deleted: undefined,
      onDeleted,
      caller: {
        gone: () => attempt.deleted !== undefined,
        onGone: (listener) => {
          onDeleted.add(listener)
          return () => onDeleted.delete(listener)
        },
      },
    }
    return attempt
  }

  #run(event: LeasedEvent): void {
    const attempt = this.#newAttempt(event)
    this.#attempts.add(attempt)
    this.#inflight++
    this.#inflightByFunction.set(
      event.functionId,
      (this.#inflightByFunction.get(event.functionId) ?? 0) + 1,
    )
    let roomFreed = false
    // The function's room counts instance slots: an attempt gives its slot back when it has run,
    // not when its settlement is committed (that waits for its log to be written, ADR 0008).
    const freeRoom = (): void => {
      if (roomFreed) {
        return
      }
      roomFreed = true
      const n = (this.#inflightByFunction.get(event.functionId) ?? 1) - 1
      if (n <= 0) {
        this.#inflightByFunction.delete(event.functionId)
      } else {
        this.#inflightByFunction.set(event.functionId, n)
      }
    }
    this.#attempt(attempt)
      .then(async (settlement) => {
        freeRoom()
        this.#pump()
        if (this.#abandoned) {
          return // shutting down: the lease stays, and the next start retries the event
        }
        const held = await this.#o.queue.settle(event, settlement)
        // A deleted function's events are gone from the queue: there was nothing to settle.
        const functionDeleted =
          attempt.deleted !== undefined && attempt.deleted.qualifier === undefined
        if (!held && !functionDeleted) {
          this.#o.logger.warn(
            { requestId: event.requestId },
            'async attempt ended after its lease was lost; its outcome is ignored',
          )
        }
      })
      .catch((err: unknown) =>
        // The lease stays RUNNING and expires: the event is redelivered, never lost.
        this.#o.logger.error({ err, requestId: event.requestId }, 'settling an async event failed'),
      )
      .finally(() => {
        this.#attempts.delete(attempt)
        freeRoom()
        this.#inflight--
        if (this.#inflight === 0) {
          for (const resolve of this.#idleWaiters.splice(0)) {
            resolve()
          }
        }
        this.#pump()
      })
  }

  /** Runs one attempt and decides how it ends. Never throws for the function's own failures. */
  async #attempt(attempt: Attempt): Promise<AsyncSettlement> {
    const event = attempt.event
    const config = await this.#o.configOf(event.functionId, event.qualifier)
    const maxAgeMs = (config?.maxAsyncEventAgeS ?? DEFAULT_ASYNC_SETTINGS.maxAsyncEventAgeS) * 1000
    const maxRetries = config?.maxAsyncRetryAttempts ?? DEFAULT_ASYNC_SETTINGS.maxAsyncRetryAttempts
    const deadline = event.acceptedAtMs + maxAgeMs
    const attemptsMade = event.attempt - 1
    if (Date.now() > deadline) {
      return terminalSettlement(this.#o, event, config, 'DISCARD', {
        errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
        errorMessage: `The event is older than max_async_event_age_in_seconds (${maxAgeMs / 1000} s); discarded after ${attemptsMade} attempts.`,
        condition: 'EventAgeExceeded',
        invokeCount: attemptsMade,
      })
    }
    let target: AsyncTarget
    try {
      target = await this.#o.resolve(event.projectId, event.functionUrn)
    } catch (err) {
      if (attempt.deleted !== undefined) {
        return this.#discardDeleted(event, config, attempt.deleted)
      }
      if (GONE_CODES.some((c) => isStratoError(err, c))) {
        return terminalSettlement(this.#o, event, config, 'DISCARD', {
          errorCode: AsyncErrorCodes.FUNCTION_GONE,
          errorMessage: `${(err as Error).message} The event was discarded.`,
          condition: 'FunctionNotFound',
          invokeCount: attemptsMade,
        })
      }
      return this.#systemRetry(event, config, deadline, err)
    }
    this.#learnShare(target.fn)
    let result: InvocationResult
    try {
      result = await this.#o.invoker.invoke({
        fn: target.fn,
        version: target.fn.version,
        alias: target.alias,
        requestId: event.requestId,
        payload: event.payload,
        invokeType: 'async',
        attempt: event.attempt,
        ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
        ...(event.contextHeaders === undefined ? {} : { contextHeaders: event.contextHeaders }),
        // Deleting the function, version or alias takes the attempt out of the line for an
        // instance, and one that has not started never starts.
        caller: attempt.caller,
      })
    } catch (err) {
      if (attempt.deleted !== undefined) {
        return this.#discardDeleted(event, config, attempt.deleted)
      }
      if (isStratoError(err, 'INVALID_EVENT')) {
        // The function can never run this event (checked at accept, so only a guest's own limit).
        return terminalSettlement(this.#o, event, config, 'FAIL', {
          errorCode: AsyncErrorCodes.FUNCTION_ERROR,
          errorMessage: err.message,
          condition: 'UnhandledInvocationError',
          invokeCount: event.attempt,
          statusCode: 400,
          functionError: 'InvalidEvent',
          response: '',
        })
      }
      return this.#systemRetry(event, config, deadline, err)
    }
    const body = result.body.toString('utf8')
    if (result.kind === 'success') {
      return terminalSettlement(this.#o, event, config, 'SUCCESS', {
        errorCode: AsyncErrorCodes.NONE,
        errorMessage: '',
        condition: '',
        invokeCount: event.attempt,
        statusCode: 200,
        functionError: '',
        response: body,
      })
    }
    const errorType = result.record.errorType ?? 'Error'
    const errorMessage = `${errorType}: ${result.record.errorMessage ?? ''}`
    if (isInstanceCrash(result)) {
      return this.#systemRetry(event, config, deadline, new Error(errorMessage))
    }
    const failures = event.functionErrors + 1
    if (failures > maxRetries) {
      return terminalSettlement(this.#o, event, config, 'FAIL', {
        errorCode: AsyncErrorCodes.FUNCTION_ERROR,
        errorMessage,
        condition: 'UnhandledInvocationError',
        invokeCount: event.attempt,
        statusCode: 500,
        functionError: errorType,
        response: body,
      })
    }
    const notBeforeMs = Date.now() + this.#o.retryPolicy.functionErrorDelayMs(failures)
    if (notBeforeMs > deadline) {
      return terminalSettlement(this.#o, event, config, 'DISCARD', {
        errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
        errorMessage: `${errorMessage} (the next retry would pass max_async_event_age_in_seconds)`,
        condition: 'EventAgeExceeded',
        invokeCount: event.attempt,
        statusCode: 500,
        functionError: errorType,
        response: body,
      })
    }
    return { kind: 'retry', notBeforeMs, functionError: true, errorMessage }
  }

  /** Throttled, no instance, shutting down: retried with backoff until the event's max age. */
  #systemRetry(
    event: LeasedEvent,
    config: AsyncInvokeConfig | undefined,
    deadline: number,
    err: unknown,
  ): Promise<AsyncSettlement> {
    const message = err instanceof Error ? err.message : String(err)
    const notBeforeMs = Date.now() + this.#o.retryPolicy.systemErrorDelayMs(event.systemErrors + 1)
    if (notBeforeMs > deadline) {
      return terminalSettlement(this.#o, event, config, 'DISCARD', {
        errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
        errorMessage: `${message} (retried until max_async_event_age_in_seconds)`,
        condition: 'EventAgeExceeded',
        invokeCount: event.attempt,
      })
    }
    this.#o.logger.info(
      { requestId: event.requestId, attempt: event.attempt, err: message },
      'async attempt hit a system error; retrying',
    )
    return Promise.resolve({
      kind: 'retry',
      notBeforeMs,
      functionError: false,
      errorMessage: message,
    })
  }
}
