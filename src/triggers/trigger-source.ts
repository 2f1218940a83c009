/**
 * @module What a trigger source is (the APIG gateway; timers and broker consumers next) and what it
 * is given: one interface to implement, one context of declared slices, so a new source is one
 * module and one entry in `main.ts`'s `triggerSources`.
 */
import type { RequestVerifier } from '../auth/index.js'
import type {
  FunctionRecord,
  FunctionResolver,
  Invoker,
  ServedTriggerTypes,
  TriggerChange,
  TriggerRecord,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'

/**
 * What a started source may use. Everything is a port or a slice, so the same source runs on one
 * node or in a cluster.
 */
export interface TriggerSourceContext {
  /** The `ACTIVE` triggers of the source's types, read now (after a change, read again). */
  loadTriggers(): Promise<TriggerRecord[]>
  /**
   * Finds the function a trigger's URN names now (`trigger.projectId`, `trigger.functionUrn`),
   * an alias routed per invocation; throws the API's 404s when it is gone.
   */
  readonly functions: FunctionResolver
  /** Runs a function (sync, or `invokeType: 'async'` for an attempt the source retries itself). */
  readonly invoker: Invoker
  /**
   * Accepts an async event for the trigger's function (the same path as `invocations-async`):
   * resolves once the event is durable, else throws 500 `ASYNC_ENQUEUE_FAILED`.
   */
  acceptAsync(
    trigger: TriggerRecord,
    fn: FunctionRecord,
    requestId: string,
    payload: Buffer,
    /** The caller's W3C `traceparent`, continued by the event's attempts. */
    traceparent?: string,
  ): Promise<void>
  /**
   * Where the source got to with a trigger (a timer's last fired tick, a subscription's last
   * line), in its own format: durable, kept with the trigger and deleted with it.
   */
  readonly cursors: TriggerCursors
  /** Verifies an SDK signature made with an access key of any project (IAM auth). */
  readonly verifier: RequestVerifier
  /** The accepted distance of a signature's date, for verifiers a source builds itself. */
  readonly authClockSkewMs: number
  readonly logger: Logger
  /**
   * Says whether a trigger of this source works now (`ok`) or not (`failing`, with what failed):
   * a broker that is down, a wrong password, a missing exchange. The API shows it on the trigger
   * (`health`, `last_error`), as do the CLI and `/strato/info`. A trigger nobody reported on is `ok`.
   */
  reportHealth(triggerId: string, health: TriggerHealthReport): void
  /**
   * For a source that runs its own attempts (a broker consumer keeps a batch unacked while it
   * retries, rather than handing it to the async queue): the function's async retry rules, and
   * how the async subsystem ends an event.
   */
  readonly ownAttempts: OwnAttempts
}

/** The async subsystem's rules, for events a trigger source runs itself. */
export interface OwnAttempts {
  /**
   * The async config of the trigger's function version or alias (`max_async_retry_attempts`,
   * `max_async_event_age_in_seconds`), or the defaults.
   */
  settings(trigger: TriggerRecord): Promise<OwnAttemptSettings>
  /**
   * The wait before the retry after the `failures`-th failure (1, 2, …): of the function
   * (`STRATO_ASYNC_RETRY_BASE_MS`, doubling) or of the platform (throttled, no instance).
   */
  retryDelayMs(kind: 'function' | 'system', failures: number): number
  /**
   * Ends an event: its async record (with the trigger id), its `on_success` / `on_failure`
   * destination event and, unless it succeeded, its dead letter, committed together. Resolves once
   * durable; only then may the source let go of the event (ack).
   */
  settle(trigger: TriggerRecord, event: OwnEvent, outcome: OwnOutcome): Promise<void>
}

export interface OwnAttemptSettings {
  readonly maxRetries: number
  readonly maxEventAgeMs: number
}

/** An event a source ran: what its record and destination payload say of it. */
export interface OwnEvent {
  readonly requestId: string
  /** The event as the function got it. */
  readonly payload: Buffer
  readonly acceptedAtMs: number
  readonly startedAtMs: number
  /** Attempts started (1 for the first). */
  readonly attempts: number
}

/** How it ended; the last three are left out when the function never answered. */
export interface OwnOutcome {
  readonly status: 'SUCCESS' | 'FAIL' | 'DISCARD'
  readonly errorCode: number
  readonly errorMessage: string
  readonly condition: '' | 'UnhandledInvocationError' | 'EventAgeExceeded' | 'FunctionNotFound'
  readonly statusCode?: number
  readonly functionError?: string
  readonly response?: string
}

/** A source's durable progress per trigger (the store's `cursorOf` / `saveCursor`). */
export interface TriggerCursors {
  /** Undefined before the first save, or once the trigger is gone. */
  cursorOf(triggerId: string): Promise<string | undefined>
  /** Resolves once the cursor survives a crash; a trigger deleted meanwhile is no error. */
  saveCursor(triggerId: string, cursor: string): Promise<void>
}

/** What a source says of one trigger's health. */
export type TriggerHealthReport =
  { readonly ok: true } | { readonly ok: false; readonly error: string }

/** A trigger's health as the API shows it (core's, where the API reads it). */
export type { TriggerHealth } from '../core/index.js'

/**
 * One way triggers fire: it serves `types` (the API refuses to create a trigger of a type no
 * registered source serves, and asks the source to check the `event_data` of its own), starts once
 * with the context, hears every change of a trigger of its types, and stops once.
 *
 * Lifecycle: `parseEventData` may be called before `start`; `onChange` only between `start` and
 * `stop`, and already during `start` (a change while it loads); `stop` also after a `start` that
 * failed, or none.
 */
export interface TriggerSource extends ServedTriggerTypes {
  start(ctx: TriggerSourceContext): Promise<void>
  /** A trigger of one of `types` was created, enabled or disabled, or deleted. */
  onChange(change: TriggerChange): void
  stop(): Promise<void>
  /**
   * Reads its triggers again from the store: changes may have been missed (a cluster node that
   * lost NATS for a while). Optional: a source without it keeps what it has until the next change.
   */
  resync?(): Promise<void>
}
