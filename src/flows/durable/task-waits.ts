/**
 * @module A callback task's wait: its function is started through the async queue
 * (`callback-starts.ts`) and the task waits for `POST …/callback`, for the async event to end
 * `FAIL` or `DISCARD` (after the function's own async retries), for its deadline, or for the run
 * to be aborted, whichever comes first.
 */
import type { TaskOutcome } from '../asl/host.js'
import { callbackOutcome } from './callback-waits.js'
import { startThroughQueue, type CallbackStartOptions } from './callback-starts.js'
import type { CallbackPayload } from './history.js'
import {
  delay,
  failure,
  FlowAborted,
  TIMEOUT,
  type FunctionCall,
  type FunctionCaller,
} from './function-calls.js'

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
