/**
 * @module Calling a flow's functions: a Task's `Resource` (a function URN) resolved in the
 * workflow's project, invoked through core's Invoker (the same pool as every call) with the §6.11
 * workflow context, and the result turned into a TaskOutcome in the flow's error names (a
 * callback task's function goes through the async queue instead: `callback-starts.ts`). The
 * `cause` of every failure is JSON text `{errorMessage, errorType, stackTrace?}`: the Huawei
 * compiler turns it into `{errorCode, errorMessage, errorType}` data.
 */
import {
  isStratoError,
  type FunctionResolver,
  type InvocationResult,
  type Invoker,
  type ResolvedFunction,
  type RoutingInput,
} from '../../core/index.js'
import type { JsonValue } from '../asl/definition.js'
import type { TaskOutcome } from '../asl/host.js'
import { setLongTimeout } from './long-timer.js'

/** The task failed because the platform could not run the function (throttled, no instance). */
export const FUNCTION_UNAVAILABLE = 'Strato.FunctionUnavailable'
/** The platform refused the call for another reason (function disabled, bad payload, …). */
export const INVOKE_FAILED = 'Strato.InvokeFailed'
export const FUNCTION_NOT_FOUND = 'FunctionNotFound'
export const FUNCTION_ERROR = 'FunctionError'
export const TIMEOUT = 'States.Timeout'

export interface FunctionCall {
  readonly projectId: string
  readonly workflowId: string
  readonly executionId: string
  /** The user-facing node id (`x-cff-workflow-state-id`). */
  readonly nodeId: string
  readonly resource: string
  readonly payload: JsonValue
  /** The attempt's idempotency key. */
  readonly requestId: string
  /** How many times this attempt has been dispatched, this one included (1 at first). */
  readonly delivery: number
  readonly timeoutMs?: number
  readonly signal: AbortSignal
}

export interface FunctionCallerOptions {
  readonly functions: FunctionResolver
  readonly invoker: Invoker
  /** Throttling (429) or no instance (503): tried again this many times, backing off. */
  readonly unavailableRetries?: number
  readonly unavailableBackoffMs?: number
}

const NO_ROUTING: RoutingInput = { header: () => undefined, cookie: () => undefined }

/** Thrown when the execution's signal aborted the wait (stop, shutdown, lost lease). */
export class FlowAborted extends Error {
  constructor() {
    super('The execution was aborted.')
    this.name = 'FlowAborted'
  }
}

export class FunctionCaller {
  readonly #options: Required<FunctionCallerOptions>

  constructor(options: FunctionCallerOptions) {
    this.#options = { unavailableRetries: 6, unavailableBackoffMs: 100, ...options }
  }

  /** Runs the function to its end (sync). Never throws except FlowAborted. */
  async call(call: FunctionCall): Promise<TaskOutcome> {
    const invocation = this.#invoke(call)
    const outcome = await raceTimeout(invocation, call.timeoutMs, call.signal)
    return { ...outcome, requestId: call.requestId }
  }

  async #invoke(call: FunctionCall): Promise<TaskOutcome> {
    const resolved = await this.resolve(call)
    if ('ok' in resolved) {
      return resolved
    }
    return this.#invokeResolved(call, resolved.fn, resolved.alias?.name ?? '')
  }

  /** Resolves the task's function in the workflow's project; a failure outcome if it cannot. */
  async resolve(call: FunctionCall): Promise<TaskOutcome | ResolvedFunction> {
    try {
      return await this.#options.functions.resolve(call.projectId, call.resource, NO_ROUTING)
    } catch (err) {
      if (isStratoError(err) && err.spec.status === 404) {
        return failure(FUNCTION_NOT_FOUND, err.message)
      }
      return failure(INVOKE_FAILED, err instanceof Error ? err.message : String(err))
    }
  }

  async #invokeResolved(
    call: FunctionCall,
    fn: Parameters<Invoker['invoke']>[0]['fn'],
    alias: string,
  ): Promise<TaskOutcome> {
    const payload = Buffer.from(JSON.stringify(call.payload))
    for (let retry = 0; ; retry += 1) {
      try {
        const result = await this.#options.invoker.invoke({
          fn,
          version: fn.version,
          alias,
          requestId: call.requestId,
          payload,
          invokeType: 'sync',
          attempt: call.delivery,
          contextHeaders: workflowContextHeaders(call),
        })
        return outcomeOf(result, call.requestId)
      } catch (err) {
        const status = isStratoError(err) ? err.spec.status : 500
        const message = err instanceof Error ? err.message : String(err)
        if (status === 404) {
          return failure(FUNCTION_NOT_FOUND, message)
        }
        if (status !== 429 && status !== 503) {
          return failure(INVOKE_FAILED, message)
        }
        if (retry >= this.#options.unavailableRetries || call.signal.aborted) {
          return failure(FUNCTION_UNAVAILABLE, message)
        }
        await delay(this.#options.unavailableBackoffMs * 2 ** retry, call.signal)
      }
    }
  }
}

/** The §6.11 headers the function reads as `context.getWorkflowID()` etc. */
export function workflowContextHeaders(call: FunctionCall): Readonly<Record<string, string>> {
  return {
    'x-cff-workflow-id': call.workflowId,
    'x-cff-workflow-run-id': call.executionId,
    'x-cff-workflow-state-id': call.nodeId,
  }
}

function outcomeOf(result: InvocationResult, requestId: string): TaskOutcome {
  const text = result.body.toString('utf8')
  if (result.kind === 'success') {
    return { ok: true, output: parseResult(text, result.bodyIsText), requestId }
  }
  let body: { errorMessage?: unknown; errorType?: unknown; stackTrace?: unknown } = {}
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    body = { errorMessage: text }
  }
  const errorType =
    typeof body.errorType === 'string' && body.errorType !== '' ? body.errorType : ''
  const error = errorType === '' ? FUNCTION_ERROR : errorType
  return {
    ok: false,
    error,
    cause: JSON.stringify({
      errorMessage: typeof body.errorMessage === 'string' ? body.errorMessage : text,
      errorType: error,
      ...(body.stackTrace === undefined ? {} : { stackTrace: body.stackTrace }),
    }),
    requestId,
  }
}

function parseResult(text: string, isText: boolean): JsonValue {
  if (isText) {
    return text
  }
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

export function failure(error: string, errorMessage: string): TaskOutcome {
  return { ok: false, error, cause: JSON.stringify({ errorMessage, errorType: error }) }
}

async function raceTimeout(
  work: Promise<TaskOutcome>,
  timeoutMs: number | undefined,
  signal: AbortSignal,
): Promise<TaskOutcome> {
  let cancelTimer: (() => void) | undefined
  let onAbort: (() => void) | undefined
  const limits = new Promise<TaskOutcome>((resolve, reject) => {
    if (timeoutMs !== undefined) {
      cancelTimer = setLongTimeout(
        () => resolve(failure(TIMEOUT, `The task did not end within ${timeoutMs} ms.`)),
        timeoutMs,
      )
    }
    onAbort = () => reject(new FlowAborted())
    if (signal.aborted) {
      onAbort()
    } else {
      signal.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    return await Promise.race([work, limits])
  } finally {
    cancelTimer?.()
    if (onAbort !== undefined) {
      signal.removeEventListener('abort', onAbort)
    }
  }
}

/** Resolves after `ms`, or rejects with FlowAborted when `signal` aborts first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new FlowAborted())
      return
    }
    const onAbort = (): void => {
      cancelTimer()
      reject(new FlowAborted())
    }
    const cancelTimer = setLongTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
