/**
 * @module The durable ExecutionHost: every effect of a NORMAL execution goes through its history.
 * A replayed effect (its event is in the history) is answered from it; a new one is appended
 * before the interpreter moves on. A task attempt appends `TaskScheduled` (with its idempotency
 * key) before the function is called and its outcome right after, so a crash between the two
 * re-dispatches the attempt with the same request id (at-least-once), and a recorded outcome is
 * never run again.
 */
import {
  FLOW_HISTORY_LIMIT,
  isStratoError,
  type ExecutionLease,
  type FlowRepository,
  type NewFlowEvent,
} from '../../core/index.js'
import type { JsonValue } from '../asl/definition.js'
import type { ExecutionHost, StateEvent, StateExit, TaskOutcome, TaskRequest } from '../asl/host.js'
import { callbackOutcome } from './callback-waits.js'
import { delay, FlowAborted } from './function-calls.js'
import { taskKey, type FoldedHistory } from './history.js'
import { dispatchTask, type TaskRunner } from './task-waits.js'
import { taskRequestId } from './request-id.js'

/** Why a driver stopped driving before the run ended. */
export type StopReason = 'stopped' | 'lease-lost' | 'history-full' | 'timeout' | 'shutdown'

export interface HistoryHostOptions extends TaskRunner {
  readonly execution: {
    readonly id: string
    readonly projectId: string
    readonly workflowId: string
    readonly redriveCount: number
    readonly eventCount: number
  }
  readonly history: FoldedHistory
  readonly lease: () => ExecutionLease
  readonly repository: FlowRepository
  readonly signal: AbortSignal
  /** Aborts the run for a reason the host found (lost lease, full history). */
  readonly abort: (reason: StopReason) => void
  readonly now?: () => number
}

export class HistoryHost implements ExecutionHost {
  readonly signal: AbortSignal
  readonly #o: HistoryHostOptions
  readonly #history: FoldedHistory
  #eventCount: number
  /**
   * State entries and exits wait here for the next append (the next effect, or the end): they
   * decide nothing outside the run, so losing them in a crash only makes replay record them again,
   * and a step costs two commits (scheduled, outcome) instead of four.
   */
  #pending: NewFlowEvent[] = []
  /** Appends run one after another, so the history's order is the order they were asked in. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor(options: HistoryHostOptions) {
    this.#o = options
    this.signal = options.signal
    this.#history = options.history
    this.#eventCount = options.execution.eventCount
  }

  now(): number {
    return this.#o.now?.() ?? Date.now()
  }

  /** How many events the history holds now. */
  get eventCount(): number {
    return this.#eventCount
  }

  async enterState(
    event: StateEvent & { readonly input: JsonValue },
  ): Promise<{ enteredAt: number }> {
    const recorded = this.#history.entered.get(event.path)
    if (recorded !== undefined) {
      return Promise.resolve({ enteredAt: recorded })
    }
    const at = this.now()
    this.#history.entered.set(event.path, at)
    this.#buffer(
      eventOf('StateEntered', event, 1, at, { type: event.stateType, input: event.input }),
    )
    return Promise.resolve({ enteredAt: at })
  }

  exitState(event: StateExit): Promise<void> {
    return Promise.resolve().then(() => this.#recordExit(event))
  }

  #recordExit(event: StateExit): void {
    if (this.#history.ended.has(event.path)) {
      return
    }
    this.#history.ended.add(event.path)
    const at = this.now()
    if (event.ok) {
      this.#buffer(eventOf('StateExited', event, 1, at, { output: event.output }))
    } else {
      this.#history.failedNodes.set(event.stateName, event.node)
      this.#buffer(eventOf('StateFailed', event, 1, at, { error: event.error, cause: event.cause }))
    }
  }

  async runTask(request: TaskRequest): Promise<TaskOutcome> {
    const key = taskKey(request.path, request.attempt)
    const recorded = this.#history.outcomes.get(key)
    if (recorded !== undefined) {
      return recorded
    }
    const requestId = taskRequestId(
      this.#o.execution.id,
      request.path,
      request.attempt,
      this.#o.execution.redriveCount,
    )
    const previous = this.#history.dispatches.get(key)
    const delivery = (previous?.count ?? 0) + 1
    const scheduledAt = previous?.firstAt ?? this.now()
    const arrived = this.#history.callbacks.get(key)
    let outcome: TaskOutcome
    if (request.callback && arrived !== undefined) {
      outcome = callbackOutcome(arrived, requestId)
    } else {
      this.#history.dispatches.set(key, {
        count: delivery,
        firstAt: scheduledAt,
        callback: request.callback,
        path: request.path,
        attempt: request.attempt,
        nodeId: request.node.id,
      })
      await this.#append([
        {
          ...eventOf('TaskScheduled', request, request.attempt, this.now(), {
            resource: request.resource,
            payload: request.payload,
            callback: request.callback,
            delivery,
          }),
          requestId,
        },
      ])
      outcome = await dispatchTask(this.#o, request, {
        requestId,
        delivery,
        scheduledAt,
        signal: this.signal,
        now: () => this.now(),
      })
    }
    this.#history.outcomes.set(key, outcome)
    const done = eventOf(
      outcome.ok ? 'TaskSucceeded' : 'TaskFailed',
      request,
      request.attempt,
      this.now(),
      outcome.ok ? { output: outcome.output } : { error: outcome.error, cause: outcome.cause },
    )
    await this.#append([{ ...done, requestId }])
    return outcome
  }

  async sleepUntil(key: string, untilMs: number): Promise<void> {
    let until = this.#history.timers.get(key)
    if (until === undefined) {
      until = untilMs
      this.#history.timers.set(key, until)
      await this.#append([
        {
          type: 'TimerStarted',
          path: key,
          stateName: '',
          nodeId: '',
          nodeName: '',
          attempt: 1,
          at: this.now(),
          payloadJson: JSON.stringify({ until }),
          requestId: undefined,
        },
      ])
    }
    await delay(until - this.now(), this.signal)
  }

  /** The events not appended yet, handed to whoever appends the execution's end. */
  takePending(): NewFlowEvent[] {
    return this.#pending.splice(0)
  }

  /**
   * Buffered events count against the limit too: a loop of Pass and Choice states appends nothing
   * else, so without this its buffer would grow until the process runs out of memory.
   */
  #buffer(event: NewFlowEvent): void {
    // The last slot stays free for the event that ends the execution.
    if (this.#eventCount + this.#pending.length + 1 > FLOW_HISTORY_LIMIT - 1) {
      this.#o.abort('history-full')
      throw new FlowAborted()
    }
    this.#pending.push(event)
  }

  #append(events: readonly NewFlowEvent[]): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.signal.aborted) {
        throw new FlowAborted()
      }
      const batch = [...this.#pending.splice(0), ...events]
      // The last slot stays free for the event that ends the execution.
      if (this.#eventCount + batch.length > FLOW_HISTORY_LIMIT - 1) {
        this.#o.abort('history-full')
        throw new FlowAborted()
      }
      try {
        this.#eventCount = await this.#o.repository.appendEvents(this.#o.lease(), batch)
      } catch (err) {
        if (isStratoError(err, 'FLOW_LEASE_LOST')) {
          this.#o.abort('lease-lost')
          throw new FlowAborted()
        }
        throw err
      }
    })
    this.#tail = run.catch(() => undefined)
    return run
  }
}

function eventOf(
  type: NewFlowEvent['type'],
  event: StateEvent,
  attempt: number,
  at: number,
  payload: Record<string, unknown>,
): NewFlowEvent {
  return {
    type,
    path: event.path,
    stateName: event.stateName,
    nodeId: event.node.id,
    nodeName: event.node.name,
    attempt,
    at,
    payloadJson: JSON.stringify(payload),
    requestId: undefined,
  }
}
