/**
 * @module A callback task's wait: its function is started through the async queue
 * (`callback-starts.ts`) and the task waits for `POST …/callback`, for the async event to end
 * `FAIL` or `DISCARD` (after the function's own async retries), for its deadline, or for the run
 * to be aborted, whichever comes first.
 */
import type { TaskOutcome, TaskRequest } from '../asl/host.js'
import { callbackOutcome, type CallbackWaits } from './callback-waits.js'
import { startThroughQueue, type CallbackStartOptions } from './callback-starts.js'
import { taskKey, type CallbackPayload } from './history.js'
import {
  delay,
  failure,
  FlowAborted,
  TIMEOUT,
  type FunctionCall,
  type FunctionCaller,
} from './function-calls.js'

/** What a host runs a task attempt with. */
export interface TaskRunner {
  readonly execution: {
    readonly id: string
    readonly projectId: string
    readonly workflowId: string
  }
  readonly caller: FunctionCaller
  readonly starts: CallbackStartOptions
  readonly callbacks: CallbackWaits
}

/** One dispatch of a task attempt. */
export interface TaskDispatch {
  readonly requestId: string
  readonly delivery: number
  /** Epoch ms the attempt was first scheduled: a callback task's deadline counts from it. */
  readonly scheduledAt: number
  readonly signal: AbortSignal
  readonly now: () => number
}

/**
 * Runs one dispatch of a task attempt, for both hosts: a plain task calls its function; a
 * callback task starts it through the async queue and waits for its callback.
 */
export function dispatchTask(
  runner: TaskRunner,
  request: TaskRequest,
  dispatch: TaskDispatch,
): Promise<TaskOutcome> {
  const call: FunctionCall = {
    projectId: runner.execution.projectId,
    workflowId: runner.execution.workflowId,
    executionId: runner.execution.id,
    nodeId: request.node.id,
    resource: request.resource,
    payload: request.payload,
    requestId: dispatch.requestId,
    delivery: dispatch.delivery,
    signal: dispatch.signal,
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
  }
  if (!request.callback) {
    return runner.caller.call(call)
  }
  return waitForCallback({
    caller: runner.caller,
    starts: runner.starts,
    call,
    wait: runner.callbacks.wait(taskKey(request.path, request.attempt)),
    deadline:
      request.timeoutMs === undefined ? undefined : dispatch.scheduledAt + request.timeoutMs,
    now: dispatch.now,
  })
}

export interface CallbackWait {
  readonly caller: FunctionCaller
  readonly starts: CallbackStartOptions
  readonly call: FunctionCall
  readonly wait: { readonly result: Promise<CallbackPayload>; readonly cancel: () => void }
  /** Epoch ms; absent: no limit but the run's. */
  readonly deadline: number | undefined
  readonly now: () => number
}

export async function waitForCallback(w: CallbackWait): Promise<TaskOutcome> {
  const local = new AbortController()
  try {
    const resolved = await w.caller.resolve(w.call)
    if ('ok' in resolved) {
      return resolved
    }
    const { started, ended } = await startThroughQueue(w.starts, w.call, resolved, local.signal)
    if (!started.ok) {
      return started
    }
    return await waitForOutcome(w, ended, local)
  } finally {
    w.wait.cancel()
    local.abort()
  }
}

async function waitForOutcome(
  w: CallbackWait,
  ended: Promise<TaskOutcome>,
  local: AbortController,
): Promise<TaskOutcome> {
  const onAbort = (): void => local.abort()
  w.call.signal.addEventListener('abort', onAbort, { once: true })
  const contenders: Array<Promise<TaskOutcome>> = [
    w.wait.result.then((payload) => callbackOutcome(payload, w.call.requestId)),
    // A function whose async event failed never calls back; one that succeeded may still.
    ended,
  ]
  if (w.deadline !== undefined) {
    contenders.push(
      delay(w.deadline - w.now(), local.signal).then(() =>
        failure(TIMEOUT, 'No callback arrived before the task timed out.'),
      ),
    )
  }
  contenders.push(
    new Promise<TaskOutcome>((_, reject) => {
      if (w.call.signal.aborted) {
        reject(new FlowAborted())
      }
      local.signal.addEventListener('abort', () => reject(new FlowAborted()), { once: true })
    }),
  )
  try {
    return await Promise.race(contenders)
  } finally {
    w.call.signal.removeEventListener('abort', onAbort)
  }
}
