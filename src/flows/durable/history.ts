/**
 * @module An execution's history folded into what replay asks of it: which state visits were
 * entered and ended, which task attempts have a recorded outcome, which were dispatched, which
 * callbacks arrived, which timers were armed. A redrive (`ExecutionRedriven`) forgets what failed
 * before it, so those states and task attempts run again; successes stay recorded.
 */
import type { FlowEvent } from '../../core/index.js'
import type { JsonValue, NodeRef } from '../asl/definition.js'
import type { TaskOutcome } from '../asl/host.js'

/** What a CallbackReceived event carries (`payloadJson`). */
export type CallbackPayload =
  | { readonly result: 'success'; readonly output: JsonValue }
  | { readonly result: 'fail'; readonly error: string; readonly output?: JsonValue }

export interface Dispatch {
  /** How many TaskScheduled events the attempt has (deliveries so far). */
  readonly count: number
  /** When it was first scheduled (epoch ms): a callback's timeout runs from here. */
  readonly firstAt: number
  readonly callback: boolean
  readonly path: string
  readonly attempt: number
  readonly nodeId: string
}

/** The key of one task attempt: its path and attempt number. */
export function taskKey(path: string, attempt: number): string {
  return `${path}@${attempt}`
}

export class FoldedHistory {
  readonly entered = new Map<string, number>()
  readonly ended = new Set<string>()
  readonly outcomes = new Map<string, TaskOutcome>()
  readonly dispatches = new Map<string, Dispatch>()
  readonly callbacks = new Map<string, CallbackPayload>()
  readonly timers = new Map<string, number>()
  /** The node of each state name that failed (for an execution's `errors[].node_id`). */
  readonly failedNodes = new Map<string, NodeRef>()
  /** When the current drive began (the start, or the last redrive). */
  driveStartedAt = 0

  constructor(events: readonly FlowEvent[]) {
    const failedPaths = new Set<string>()
    for (const e of events) {
      this.#fold(e, failedPaths)
    }
  }

  /** Callback tasks waiting: dispatched, no outcome and no callback yet. */
  waitingCallbacks(): Dispatch[] {
    return [...this.dispatches.entries()]
      .filter(([key, d]) => d.callback && !this.outcomes.has(key) && !this.callbacks.has(key))
      .map(([, d]) => d)
  }

  #fold(e: FlowEvent, failedPaths: Set<string>): void {
    const payload = parsePayload(e.payloadJson)
    const key = taskKey(e.path, e.attempt)
    switch (e.type) {
      case 'ExecutionStarted':
        this.driveStartedAt = e.at
        break
      case 'ExecutionRedriven':
        this.driveStartedAt = e.at
        this.#forgetFailures(failedPaths)
        failedPaths.clear()
        break
      case 'StateEntered':
        this.entered.set(e.path, e.at)
        break
      case 'StateExited':
        this.ended.add(e.path)
        break
      case 'StateFailed':
        this.ended.add(e.path)
        failedPaths.add(e.path)
        this.failedNodes.set(e.stateName, { id: e.nodeId, name: e.nodeName })
        break
      case 'TaskScheduled': {
        const previous = this.dispatches.get(key)
        this.dispatches.set(key, {
          count: (previous?.count ?? 0) + 1,
          firstAt: previous?.firstAt ?? e.at,
          callback: payload.callback === true,
          path: e.path,
          attempt: e.attempt,
          nodeId: e.nodeId,
        })
        break
      }
      case 'TaskSucceeded':
        this.outcomes.set(key, {
          ok: true,
          output: (payload.output ?? null) as JsonValue,
          ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
        })
        break
      case 'TaskFailed':
        this.outcomes.set(key, {
          ok: false,
          error: typeof payload.error === 'string' ? payload.error : 'States.TaskFailed',
          ...(typeof payload.cause === 'string' ? { cause: payload.cause } : {}),
          ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
        })
        break
      case 'CallbackReceived':
        this.callbacks.set(key, payload as unknown as CallbackPayload)
        break
      case 'TimerStarted':
        if (typeof payload.until === 'number') {
          this.timers.set(e.path, payload.until)
        }
        break
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionTimedOut':
      case 'ExecutionStopped':
        break
    }
  }

  #forgetFailures(failedPaths: ReadonlySet<string>): void {
    for (const path of failedPaths) {
      this.entered.delete(path)
      this.ended.delete(path)
    }
    // Only attempts under a failed state run again: a failure that was caught, or retried to a
    // success, belongs to a state that completed and must keep its answer.
    for (const [key, outcome] of this.outcomes) {
      if (!outcome.ok && isUnderAny(key, failedPaths)) {
        this.outcomes.delete(key)
        this.dispatches.delete(key)
        this.callbacks.delete(key)
      }
    }
    // Retry intervals of a failed state start over with its new attempts; so does the execution's
    // own timeout (`$execution-timeout`, like every engine-level timer, starts with `$`).
    for (const timer of this.timers.keys()) {
      if (timer.startsWith('$') || isUnderAny(timer, failedPaths)) {
        this.timers.delete(timer)
      }
    }
  }
}

/**
 * Whether `key` names `path` itself or an effect inside it: an attempt (`@`), a nested state
 * (`/`) or a timer (`:`). A bare prefix test would put `F#10` under `F#1`.
 */
function isUnderAny(key: string, paths: ReadonlySet<string>): boolean {
  for (const path of paths) {
    if (key === path) {
      return true
    }
    if (key.startsWith(path) && '@/:'.includes(key.charAt(path.length))) {
      return true
    }
  }
  return false
}

function parsePayload(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
