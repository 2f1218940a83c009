/**
 * @module The EXPRESS ExecutionHost: effects happen once, in memory, with no history (at-most-once
 * for a sync run: a crash fails it). It keeps the failed states for the sync answer's `errors`.
 */
import type { JsonValue } from '../asl/definition.js'
import type { ExecutionHost, StateEvent, StateExit, TaskOutcome, TaskRequest } from '../asl/host.js'
import { delay } from './function-calls.js'
import { taskKey } from './history.js'
import { taskRequestId } from './request-id.js'
import { dispatchTask, type TaskRunner } from './task-waits.js'

export interface FailedState {
  readonly stateName: string
  readonly nodeId: string
  readonly error: string
  readonly cause: string | undefined
  readonly beginAt: number
  readonly endAt: number
}

export interface MemoryHostOptions extends TaskRunner {
  readonly signal: AbortSignal
}

export class MemoryHost implements ExecutionHost {
  readonly signal: AbortSignal
  readonly failed: FailedState[] = []
  /** Callback tasks waiting now: node id → task key. */
  readonly waiting = new Map<string, string>()
  readonly #o: MemoryHostOptions
  readonly #entered = new Map<string, number>()

  constructor(options: MemoryHostOptions) {
    this.#o = options
    this.signal = options.signal
  }

  now(): number {
    return Date.now()
  }

  enterState(event: StateEvent & { readonly input: JsonValue }): Promise<{ enteredAt: number }> {
    const at = this.now()
    this.#entered.set(event.path, at)
    return Promise.resolve({ enteredAt: at })
  }

  exitState(event: StateExit): Promise<void> {
    const beginAt = this.#entered.get(event.path)
    // A long loop visits ever new paths: keep only the visits still running.
    this.#entered.delete(event.path)
    if (!event.ok) {
      const endAt = this.now()
      this.failed.push({
        stateName: event.stateName,
        nodeId: event.node.id,
        error: event.error,
        cause: event.cause,
        beginAt: beginAt ?? endAt,
        endAt,
      })
    }
    return Promise.resolve()
  }

  async runTask(request: TaskRequest): Promise<TaskOutcome> {
    const dispatch = {
      requestId: taskRequestId(this.#o.execution.id, request.path, request.attempt, 0),
      delivery: 1,
      scheduledAt: this.now(),
      signal: this.signal,
      now: () => this.now(),
    }
    if (!request.callback) {
      return dispatchTask(this.#o, request, dispatch)
    }
    this.waiting.set(request.node.id, taskKey(request.path, request.attempt))
    try {
      return await dispatchTask(this.#o, request, dispatch)
    } finally {
      this.waiting.delete(request.node.id)
    }
  }

  sleepUntil(_key: string, untilMs: number): Promise<void> {
    return delay(untilMs - this.now(), this.signal)
  }
}
