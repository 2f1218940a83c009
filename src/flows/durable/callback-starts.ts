/**
 * @module Starting a callback task's function through the durable async queue, like any async
 * call: the event carries the flow's context headers and the attempt's request id, so the
 * function's async config (retries, max age, destinations) applies, its records show it, and a
 * re-dispatch after a crash finds the event already there instead of starting the function again.
 * The event's record is then watched: the task fails when the event ends `FAIL` or `DISCARD`.
 */
import {
  AsyncErrorCodes,
  formatFunctionUrn,
  Limits,
  qualifierOf,
  StratoError,
  type AcceptedAsyncEvent,
  type AsyncEventTarget,
  type AsyncRecord,
  type ResolvedFunction,
} from '../../core/index.js'
import type { TaskOutcome } from '../asl/host.js'
import {
  delay,
  failure,
  FlowAborted,
  FUNCTION_ERROR,
  FUNCTION_NOT_FOUND,
  FUNCTION_UNAVAILABLE,
  INVOKE_FAILED,
  workflowContextHeaders,
  type FunctionCall,
} from './function-calls.js'

/**
 * The port a callback task starts its function through. `build-strato.ts` builds it over the
 * async queue every async call goes through (core's `acceptAsyncEvent`) and its records.
 */
export interface FlowAsyncQueue {
  /** Strato's region: the 8-field URN an event names carries it. */
  readonly region: string
  /**
   * Makes the event durable (`acceptAsyncEvent`). The queue ignores a request id it holds
   * already, so accepting an event again resolves without a second one.
   */
  accept(target: AsyncEventTarget, event: AcceptedAsyncEvent): Promise<void>
  /** The event's record; undefined when the queue holds none (never accepted, or deleted). */
  record(functionId: string, requestId: string): Promise<AsyncRecord | undefined>
}

/** A callback task's function, started: `ended` settles only if its async event failed. */
export interface CallbackStart {
  readonly started: TaskOutcome
  /** A failure outcome once the event ended `FAIL` or `DISCARD`; never settles otherwise. */
  readonly ended: Promise<TaskOutcome>
}

export interface CallbackStartOptions {
  readonly queue: FlowAsyncQueue
  /** How often a waiting task reads its event's record. */
  readonly pollMs: number
}

const NEVER = new Promise<TaskOutcome>(() => undefined)

/**
 * Accepts the function's async event (unless the queue has it: a re-dispatch) and watches it
 * until `watching` aborts. Never throws but FlowAborted.
 */
export async function startThroughQueue(
  options: CallbackStartOptions,
  call: FunctionCall,
  resolved: ResolvedFunction,
  watching: AbortSignal,
): Promise<CallbackStart> {
  const { fn, latest, ref } = resolved
  const functionId = latest.id
  if (fn.maxInstances === 0) {
    const started = failure(INVOKE_FAILED, new StratoError('FUNCTION_DISABLED').message)
    return { started, ended: NEVER }
  }
  const payload = Buffer.from(JSON.stringify(call.payload))
  if (payload.length > Limits.ASYNC_PAYLOAD_MAX_BYTES) {
    const started = failure(
      INVOKE_FAILED,
      `The task's input is ${payload.length} bytes; an async event holds at most ${Limits.ASYNC_PAYLOAD_MAX_BYTES}.`,
    )
    return { started, ended: NEVER }
  }
  try {
    // A re-dispatch after a crash: the event is there (maybe run, maybe ended) and is not
    // accepted again (the queue would ignore it, but the status log would show a second WAIT).
    const known = await options.queue.record(functionId, call.requestId)
    if (known === undefined) {
      const qualifier = qualifierOf(ref)
      await options.queue.accept(
        {
          projectId: latest.projectId,
          functionId,
          functionUrn: formatFunctionUrn(
            options.queue.region,
            ref.projectId,
            ref.packageName,
            ref.functionName,
            qualifier,
          ),
          qualifier,
        },
        {
          requestId: call.requestId,
          payload,
          timeoutS: fn.timeoutS,
          contextHeaders: workflowContextHeaders(call),
        },
      )
    }
  } catch (err) {
    const started = failure(INVOKE_FAILED, err instanceof Error ? err.message : String(err))
    return { started, ended: NEVER }
  }
  return {
    started: { ok: true, output: null, requestId: call.requestId },
    ended: watchEvent(options, functionId, call.requestId, watching),
  }
}

/** Polls the event's record until it ends or `watching` aborts. */
async function watchEvent(
  options: CallbackStartOptions,
  functionId: string,
  requestId: string,
  watching: AbortSignal,
): Promise<TaskOutcome> {
  for (;;) {
    let record: AsyncRecord | undefined | null = null
    try {
      record = await options.queue.record(functionId, requestId)
    } catch {
      // The store could not answer this time: asked again at the next poll.
    }
    if (record === undefined) {
      // Accepted, so only deleting the function took it (terminal records are not watched).
      return failure(
        FUNCTION_NOT_FOUND,
        "The task's function was deleted; its async event went with it.",
      )
    }
    if (record?.status === 'SUCCESS') {
      return NEVER // it may still call back, or the task's timeout ends the wait
    }
    if (record?.status === 'FAIL' || record?.status === 'DISCARD') {
      return asyncFailure(record, requestId)
    }
    try {
      await delay(options.pollMs, watching)
    } catch (err) {
      if (err instanceof FlowAborted) {
        return NEVER
      }
      throw err
    }
  }
}

/** A failed async event as the task's outcome, in the flow's error names. */
export function asyncFailure(record: AsyncRecord, requestId: string): TaskOutcome {
  const error =
    record.status === 'FAIL'
      ? record.errorCode === AsyncErrorCodes.CANCELED
        ? INVOKE_FAILED
        : FUNCTION_ERROR
      : record.errorCode === AsyncErrorCodes.FUNCTION_GONE
        ? FUNCTION_NOT_FOUND
        : FUNCTION_UNAVAILABLE
  const message = `The async invocation ended ${record.status} after ${record.attempts} attempt(s): ${record.errorMessage}`
  return { ...failure(error, message), requestId }
}
