/**
 * @module Tasks waiting for `POST …/callback`, per execution: a callback that arrives before its
 * task waits (the driver is still replaying up to it) is kept until the task asks for it.
 */
import type { TaskOutcome } from '../asl/host.js'
import type { CallbackPayload } from './history.js'

export class CallbackWaits {
  readonly #waiting = new Map<string, (payload: CallbackPayload) => void>()
  readonly #arrived = new Map<string, CallbackPayload>()

  /** Hands a callback to the task attempt `key` (now or once it waits). */
  deliver(key: string, payload: CallbackPayload): void {
    const waiter = this.#waiting.get(key)
    if (waiter === undefined) {
      this.#arrived.set(key, payload)
      return
    }
    this.#waiting.delete(key)
    waiter(payload)
  }

  /** Resolves with the callback for `key`; `cancel` forgets the wait. */
  wait(key: string): { readonly result: Promise<CallbackPayload>; readonly cancel: () => void } {
    const arrived = this.#arrived.get(key)
    if (arrived !== undefined) {
      this.#arrived.delete(key)
      return { result: Promise.resolve(arrived), cancel: () => undefined }
    }
    const result = new Promise<CallbackPayload>((resolve) => this.#waiting.set(key, resolve))
    return { result, cancel: () => this.#waiting.delete(key) }
  }
}

/** A callback's result as the task's outcome (the cause is JSON text, like a function's). */
export function callbackOutcome(payload: CallbackPayload, requestId: string): TaskOutcome {
  if (payload.result === 'success') {
    return { ok: true, output: payload.output, requestId }
  }
  return {
    ok: false,
    error: 'FunctionError',
    cause: JSON.stringify({
      errorMessage: payload.error,
      errorType: 'FunctionError',
      ...(payload.output === undefined ? {} : { output: payload.output }),
    }),
    requestId,
  }
}
