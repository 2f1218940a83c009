/**
 * @module The seam between the interpreter (pure ASL semantics) and whoever runs it: the durable
 * executor (history in the store, leases, persisted timers, functions through the pool), the
 * in-memory EXPRESS runner, and the conformance suite's local host.
 *
 * Durability is replay: after a crash the executor runs the interpreter again from the start on
 * the same input, and the host answers every effect that the history already holds from the
 * history (a completed task returns its recorded outcome, a timer its recorded fire time) instead
 * of doing it again. For that the interpreter must be deterministic given the host's answers:
 * * every effect carries a `path` that names it uniquely and stably within the execution:
 *   state name, the visit number of that state in its scope, Parallel branch index, Map item
 *   index and retry attempt, e.g. `Prepare#1`, `Fan#1/b0/Fetch#1`, `Loop#1/i17/Work#1@2`
 *   (`@n` = the n-th attempt, from 1; the first has no suffix);
 * * time is read only through `enterState` (a state's entered time) and `host.now()` is used only
 *   to compute a fire time handed to `sleepUntil` (which keeps the first recorded one);
 * * random values (States.UUID, States.MathRandom, $uuid, $random, FULL jitter) derive from
 *   `RunRequest.seed` and the path, never from Math.random.
 */
import type { AslDefinition, ExecutionOutcome, JsonValue, NodeRef } from './definition.js'

export interface StateEvent {
  /** Unique and stable for this visit of the state (see the module comment). */
  readonly path: string
  readonly stateName: string
  readonly stateType: string
  readonly node: NodeRef
}

/** A state's end: its output, or the error it failed with. */
export type StateExit = StateEvent &
  (
    | { readonly ok: true; readonly output: JsonValue }
    | { readonly ok: false; readonly error: string; readonly cause?: string }
  )

export interface TaskRequest extends StateEvent {
  /** 1 for the first attempt of this visit; n for the n-th (after n-1 retries). */
  readonly attempt: number
  /** The Task's `Resource` (a function URN, an ARN, `arn:aws:states:::lambda:invoke`, …). */
  readonly resource: string
  /** The effective input: after InputPath and Parameters (or Arguments). */
  readonly payload: JsonValue
  /** The state's TimeoutSeconds (ms), absent = none beyond the function's own timeout. */
  readonly timeoutMs?: number
  readonly heartbeatMs?: number
  /** `Strato.Callback` or a `.waitForTaskToken` resource: complete through a callback. */
  readonly callback: boolean
}

/** How a task ended; errors use the flow's error names (`FunctionError`, `States.Timeout`, …). */
export type TaskOutcome =
  | { readonly ok: true; readonly output: JsonValue; readonly requestId?: string }
  | {
      readonly ok: false
      readonly error: string
      readonly cause?: string
      readonly requestId?: string
    }

export interface ExecutionHost {
  /** Aborted when the execution is stopped (or the engine shuts down): stop as soon as possible. */
  readonly signal: AbortSignal
  /** Epoch ms now (the conformance host may fake it). */
  now(): number
  /**
   * A state visit begins. Returns when it was entered: now the first time, the recorded time on
   * replay (for `$$.State.EnteredTime`).
   */
  enterState(
    event: StateEvent & { readonly input: JsonValue },
  ): Promise<{ readonly enteredAt: number }>
  /** A state visit ended (recorded once; a replayed exit is ignored). */
  exitState(event: StateExit): Promise<void>
  /** Runs a task attempt, or answers it from the history. */
  runTask(request: TaskRequest): Promise<TaskOutcome>
  /**
   * Resolves at `untilMs` (Wait states, retry intervals). `key` is unique like a path. The first
   * call with a key records its `untilMs`; a replayed call waits for the recorded time instead.
   */
  sleepUntil(key: string, untilMs: number): Promise<void>
}

/** The `$$` context object's execution-level part. */
export interface ExecutionContext {
  readonly executionId: string
  readonly executionName: string
  /** ISO-8601 */
  readonly startTime: string
  readonly stateMachineId: string
  readonly stateMachineName: string
  readonly roleArn?: string
  readonly redriveCount: number
}

export interface RunRequest {
  /** Validated (`validateDefinition`). */
  readonly definition: AslDefinition
  readonly input: JsonValue
  readonly context: ExecutionContext
  readonly host: ExecutionHost
  /** Seeds every random value of the run (the execution id will do). */
  readonly seed: string
}

/** What `runStateMachine(request: RunRequest): Promise<ExecutionOutcome>` gives back. */
export type { ExecutionOutcome }
