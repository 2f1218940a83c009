/**
 * @module A callback task's wait: its function is started (async invoke type) and the task waits
 * for `POST …/callback`, for the function to fail, for its deadline, or for the run to be aborted,
 * whichever comes first.
 */
import type { TaskOutcome } from '../asl/host.js'
import { callbackOutcome } from './callback-waits.js'
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
  readonly call: FunctionCall
  readonly wait: { readonly result: Promise<CallbackPayload>; readonly cancel: () => void }
  /** Epoch ms; absent: no limit but the run's. */
  readonly deadline: number | undefined
  readonly now: () => number
}

export async function waitForCallback(w: CallbackWait): Promise<TaskOutcome> {
  const { started, ended } = await w.caller.start(w.call)
  if (!started.ok) {
    w.wait.cancel()
    return started
  }
  const local = new AbortController()
  const onAbort = (): void => local.abort()
  w.call.signal.addEventListener('abort', onAbort, { once: true })
  const contenders: Array<Promise<TaskOutcome | undefined>> = [
    w.wait.result.then((payload) => callbackOutcome(payload, w.call.requestId)),
    // A function that failed never calls back; one that succeeded may still.
    ended.then((outcome) => (outcome.ok ? new Promise<undefined>(() => undefined) : outcome)),
  ]
  if (w.deadline !== undefined) {
    contenders.push(
      delay(w.deadline - w.now(), local.signal).then(() =>
        failure(TIMEOUT, 'No callback arrived before the task timed out.'),
      ),
    )
  }
  contenders.push(
    new Promise<undefined>((_, reject) => {
      if (w.call.signal.aborted) {
        reject(new FlowAborted())
      }
      local.signal.addEventListener('abort', () => reject(new FlowAborted()), { once: true })
    }),
  )
  try {
    const outcome = await Promise.race(contenders)
    return outcome ?? failure('States.Runtime', 'The callback wait ended without an outcome.')
  } finally {
    w.wait.cancel()
    w.call.signal.removeEventListener('abort', onAbort)
    local.abort()
  }
}
