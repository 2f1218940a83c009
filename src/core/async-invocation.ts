/**
 * @module Asynchronous invocation: the `AsyncQueue` port (embedded SQLite today, a broker for the
 * cluster later), the per-function async invoke config, and FunctionGraph's statuses and limits.
 */
import { StratoError } from './errors.js'
import type { FunctionRef } from './function-urn.js'

/**
 * Lifecycle of one accepted async event (FunctionGraph's statuses, reference §4.7).
 * * `WAIT`    - durable, waiting for its first attempt or a retry (`not_before` in the future)
 * * `RUNNING` - leased to a worker until its lease ends; an expired lease goes back to `WAIT`
 * * `SUCCESS` - an attempt returned; terminal
 * * `FAIL`    - the function failed on every allowed attempt, or the event was cancelled; terminal
 * * `DISCARD` - too old (`max_async_event_age_in_seconds`) or its function is gone; terminal
 */
export const ASYNC_STATUSES = ['WAIT', 'RUNNING', 'SUCCESS', 'FAIL', 'DISCARD'] as const
export type AsyncStatus = (typeof ASYNC_STATUSES)[number]
export type TerminalAsyncStatus = 'SUCCESS' | 'FAIL' | 'DISCARD'

/** `error_code` of a record. FunctionGraph documents only 4208; the others are Strato's choice. */
export const AsyncErrorCodes = {
  NONE: 0,
  /** The function failed (threw, timed out, crashed) on its last allowed attempt. */
  FUNCTION_ERROR: 500,
  /** `max_async_event_age_in_seconds` passed before an attempt could succeed. */
  EVENT_AGE_EXCEEDED: 408,
  /** The function, version or alias no longer exists. */
  FUNCTION_GONE: 404,
  /** Cancelled through the API (FunctionGraph: "4208 function invocation canceled"). */
  CANCELED: 4208,
} as const

/** 256 KiB: FunctionGraph's async event limit (413 above it). */
export const ASYNC_PAYLOAD_MAX_BYTES = 256 * 1024
export const ASYNC_RETRY_ATTEMPTS_MIN = 0
export const ASYNC_RETRY_ATTEMPTS_MAX = 3
export const ASYNC_RETRY_ATTEMPTS_DEFAULT = 1
export const ASYNC_EVENT_AGE_MIN_S = 1
export const ASYNC_EVENT_AGE_MAX_S = 86_400
export const ASYNC_EVENT_AGE_DEFAULT_S = 3_600

/** An event as accepted: what the queue persists before the 202 leaves. */
export interface NewAsyncEvent {
  readonly requestId: string
  readonly projectId: string
  readonly functionId: string
  /** The 8-field URN the caller invoked; resolved again at every attempt (aliases route then). */
  readonly functionUrn: string
  /** `latest`, a version name or `!alias`: whose async config applies. */
  readonly qualifier: string
  /** The event's raw JSON bytes. */
  readonly payload: Buffer
  readonly acceptedAtMs: number
  /** The function's timeout: a lease lasts this long plus the queue's grace. */
  readonly timeoutMs: number
  /** The trigger that fired it (absent for an API call): its records show it. */
  readonly triggerId?: string
  /** The W3C trace context it was accepted in: its attempts continue that trace. */
  readonly traceparent?: string
  /**
   * Headers every attempt hands the guest (`InvocationRequest.contextHeaders`): a flow's callback
   * task sets the `x-cff-workflow-*` ones, so the function sees the flow it runs in.
   */
  readonly contextHeaders?: Readonly<Record<string, string>>
}

/** An event handed to a worker. Only the holder of `leaseToken` can settle it. */
export interface LeasedEvent extends NewAsyncEvent {
  readonly leaseToken: string
  /** 1 for the first attempt; counts every attempt started, system retries included. */
  readonly attempt: number
  /** Attempts that ended in a function error (these count against `max_async_retry_attempts`). */
  readonly functionErrors: number
  /** Attempts lost to the platform: throttling, failed starts, a lease that expired (crash). */
  readonly systemErrors: number
}

/** A dead-letter entry: the destination payload (reference §6.10) of a failed or discarded event. */
export interface DeadLetter {
  readonly projectId: string
  readonly functionId: string
  readonly requestId: string
  readonly createdAtMs: number
  /** The §6.10 JSON document. */
  readonly record: string
}

/**
 * How an attempt ends. A `done` settlement writes the terminal state, the follow-up events
 * (destinations) and the dead letter in one step: either all of it happens or none.
 */
export type AsyncSettlement =
  | {
      readonly kind: 'done'
      readonly status: TerminalAsyncStatus
      readonly errorCode: number
      readonly errorMessage: string
      readonly endedAtMs: number
      readonly enqueue: readonly NewAsyncEvent[]
      readonly deadLetter: DeadLetter | undefined
    }
  | {
      readonly kind: 'retry'
      readonly notBeforeMs: number
      /** True: counts against the retry budget; false: a system error, retried until max age. */
      readonly functionError: boolean
      readonly errorMessage: string
    }

export interface AsyncLeaseRequest {
  /** At most this many events in total. */
  readonly max: number
  readonly nowMs: number
  /** How many more events of this function the caller can run now (0: none). */
  readonly room: (functionId: string) => number
}

/** One row of the records listing. */
export interface AsyncRecord {
  readonly requestId: string
  readonly status: AsyncStatus
  readonly errorCode: number
  readonly errorMessage: string
  readonly acceptedAtMs: number
  readonly startedAtMs: number | undefined
  readonly endedAtMs: number | undefined
  readonly attempts: number
  /** The trigger that fired the event ('' for an API call). */
  readonly triggerId: string
}

/**
 * What a deletion took away from under its async events: a whole function, or one of its versions
 * or aliases.
 */
export interface DeletedAsyncTarget {
  readonly functionId: string
  /** The version or `!alias` deleted (as events name it in `qualifier`); undefined: the function. */
  readonly qualifier?: string | undefined
}

/** A lease of a run that ended while holding it (a crash or a stop), returned to `WAIT`. */
export interface RecoveredLease {
  readonly requestId: string
  readonly projectId: string
  readonly functionId: string
  readonly qualifier: string
  /** The number of the attempt that was cut short. */
  readonly attempt: number
  /** When that attempt was leased (epoch ms). */
  readonly leasedAtMs: number
  /**
   * The node that held the lease (a cluster's queue says; undefined: a single node's queue, whose
   * leases are all this node's). An attempt of another node will never log itself: that node is
   * gone or has lost the lease.
   */
  readonly owner?: string | undefined
}

/** The message of a record discarded because `target` was deleted. */
export function deletedTargetMessage(target: DeletedAsyncTarget): string {
  const q = target.qualifier
  const what =
    q === undefined
      ? 'The function'
      : q.startsWith('!')
        ? `The alias '${q.slice(1)}'`
        : `The version '${q}'`
  return `${what} was deleted; the event was discarded.`
}

export interface AsyncRecordQuery {
  readonly functionId: string
  readonly requestId?: string | undefined
  readonly statuses?: readonly AsyncStatus[] | undefined
  /** Accepted at or after (epoch ms). */
  readonly fromMs?: number | undefined
  /** Accepted at or before (epoch ms). */
  readonly toMs?: number | undefined
  readonly offset: number
  readonly limit: number
}

export interface StoredDeadLetter extends DeadLetter {
  readonly id: number
}

/**
 * The queue every accepted async event lives in until it reaches a terminal state. Implementations:
 * `SqliteAsyncQueue` (store, the embedded default); a JetStream one for the cluster. Each must pass
 * `test/contract/async-queue.contract.ts`.
 *
 * What users read and cancel of it (records, dead letters) is the `AsyncRecordRepository` port.
 *
 * Contract: `enqueue` resolves only once the event is durable (it survives a crash of the process);
 * a leased event is invisible to other `lease` calls until it is settled or its lease expires;
 * `settle` applies only while the caller still holds the lease (idempotent terminal transitions).
 */
export interface AsyncQueue {
  /** Resolves once the event is durable; rejects if it could not be made durable. */
  enqueue(event: NewAsyncEvent): Promise<void>
  /** Leases due `WAIT` events (oldest due first, fair across functions), at most `room` per function. */
  lease(request: AsyncLeaseRequest): Promise<LeasedEvent[]>
  /** Ends a lease. False when the lease was lost (expired and re-leased, or cancelled). */
  settle(event: LeasedEvent, settlement: AsyncSettlement): Promise<boolean>
  /**
   * Records an event that never waited here, run by its trigger source itself (a broker keeps the
   * batch), once it ended after `ran.attempts` attempts: record, destination event and dead letter
   * commit together, no earlier than the attempts' logs. Resolves once durable.
   */
  record(
    event: NewAsyncEvent,
    ran: { readonly attempts: number; readonly startedAtMs: number },
    settlement: Extract<AsyncSettlement, { kind: 'done' }>,
  ): Promise<void>
  /**
   * Returns leases to `WAIT` as system retries: all `RUNNING` events (`all`, at start: their
   * process is gone) or those whose lease ended before `nowMs`. Resolves to the leases returned.
   */
  recoverLeases(options: {
    readonly nowMs: number
    readonly all: boolean
  }): Promise<RecoveredLease[]>
  /** Calls `listener` when new events became due (after an enqueue commits). */
  onReady(listener: () => void): void
  /**
   * A version or alias was deleted (`deleteFunction` does the same for a whole function): tells
   * every `onDeleted` listener (the dispatcher), which settles the target's `WAIT` events as
   * `DISCARD` (404) and makes sure none of its leased events that has not reached an instance
   * ever does. Resolves once they are done.
   */
  discardDeleted(target: DeletedAsyncTarget): Promise<void>
  /** Registers who ends the events of a deleted target (see `discardDeleted`). */
  onDeleted(listener: (target: DeletedAsyncTarget) => Promise<void>): void
  /**
   * Leases up to `max` `WAIT` events of a deleted target, whatever their due time, to be settled
   * as `DISCARD`: no attempt is counted.
   */
  leaseDeleted(target: DeletedAsyncTarget, max: number, nowMs: number): Promise<LeasedEvent[]>
  /**
   * Removes a deleted function's events and dead letters, after telling the `onDeleted`
   * listeners (none of its leased events that has not reached an instance runs). Nobody can list
   * a deleted function's records: its id is never used again.
   */
  deleteFunction(functionId: string): Promise<void>
  /** Removes terminal events and dead letters that ended before `beforeMs`. */
  prune(beforeMs: number): Promise<void>
}

/** An async destination (reference §4.7): only `FunctionGraph` runs today. */
export interface AsyncDestination {
  readonly destination: string
  /** As sent: a JSON string, e.g. `{"func_urn":"urn:fss:…"}`. */
  readonly param: string
}

/** The async invoke config of one function version or alias. */
export interface AsyncInvokeConfig {
  readonly functionId: string
  readonly qualifier: string
  readonly maxAsyncEventAgeS: number
  readonly maxAsyncRetryAttempts: number
  readonly onSuccess: AsyncDestination | undefined
  readonly onFailure: AsyncDestination | undefined
  readonly enableAsyncStatusLog: boolean
  readonly createdAt: Date
  readonly lastModified: Date
}

/** The settings a function without an async config runs with. */
export const DEFAULT_ASYNC_SETTINGS = {
  maxAsyncEventAgeS: ASYNC_EVENT_AGE_DEFAULT_S,
  maxAsyncRetryAttempts: ASYNC_RETRY_ATTEMPTS_DEFAULT,
} as const

/** The parsed body of `PUT …/async-invoke-config`. */
export interface AsyncInvokeConfigInput {
  readonly maxAsyncEventAgeS: number
  readonly maxAsyncRetryAttempts: number
  readonly onSuccess: AsyncDestination | undefined
  readonly onFailure: AsyncDestination | undefined
  /** The target function URN of each FunctionGraph destination, to check that it exists. */
  readonly targetUrns: readonly string[]
  readonly enableAsyncStatusLog: boolean
}

function bad(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', detail)
}

function intIn(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) {
    return fallback
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(`'${field}' must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`)
  }
  return value
}

/** The `func_urn` of a FunctionGraph destination's `param`. */
export function destinationFunctionUrn(d: AsyncDestination): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(d.param)
  } catch {
    bad(`A destination's 'param' must be a JSON string, got ${JSON.stringify(d.param)}.`)
  }
  const urn = (parsed as { func_urn?: unknown } | null)?.func_urn
  if (typeof urn !== 'string' || urn === '') {
    bad(`A FunctionGraph destination's 'param' needs 'func_urn', got ${JSON.stringify(d.param)}.`)
  }
  return urn
}

function parseDestination(value: unknown, field: string): AsyncDestination | undefined {
  if (value === undefined || value === null) {
    return undefined
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    bad(`'${field}' must be an object.`)
  }
  const v = value as { destination?: unknown; param?: unknown }
  if (v.destination === undefined && v.param === undefined) {
    return undefined
  }
  if (typeof v.destination !== 'string') {
    bad(`'${field}.destination' is required.`)
  }
  if (v.destination !== 'FunctionGraph') {
    // OBS, SMN and DIS are FunctionGraph destinations Strato cannot deliver to yet; refusing is
    // better than accepting events that would silently go nowhere.
    throw new StratoError(
      'UNSUPPORTED_DESTINATION',
      `'${field}.destination' is '${v.destination}'; Strato delivers only to 'FunctionGraph' destinations (failed events also go to the dead-letter list).`,
    )
  }
  if (typeof v.param !== 'string') {
    bad(`'${field}.param' must be a JSON string.`)
  }
  const d = { destination: v.destination, param: v.param }
  destinationFunctionUrn(d)
  return d
}

/**
 * Validates the body of `PUT …/async-invoke-config` (ranges of reference §4.7). Every field is
 * optional, as in FunctionGraph's API and the SDK's model: one left out keeps its value in
 * `current` (the stored config), or else the default. `destination_config` counts as one field:
 * given, it replaces both destinations (an empty object clears them).
 */
export function parseAsyncInvokeConfig(
  body: Readonly<Record<string, unknown>>,
  current?: AsyncInvokeConfig,
): AsyncInvokeConfigInput {
  const maxAsyncEventAgeS = intIn(
    body.max_async_event_age_in_seconds,
    'max_async_event_age_in_seconds',
    ASYNC_EVENT_AGE_MIN_S,
    ASYNC_EVENT_AGE_MAX_S,
    current?.maxAsyncEventAgeS ?? DEFAULT_ASYNC_SETTINGS.maxAsyncEventAgeS,
  )
  const maxAsyncRetryAttempts = intIn(
    body.max_async_retry_attempts,
    'max_async_retry_attempts',
    ASYNC_RETRY_ATTEMPTS_MIN,
    ASYNC_RETRY_ATTEMPTS_MAX,
    current?.maxAsyncRetryAttempts ?? DEFAULT_ASYNC_SETTINGS.maxAsyncRetryAttempts,
  )
  const enable = body.enable_async_status_log
  if (enable !== undefined && enable !== null && typeof enable !== 'boolean') {
    bad(`'enable_async_status_log' must be a boolean.`)
  }
  const dc = body.destination_config
  if (dc === undefined || dc === null) {
    return {
      maxAsyncEventAgeS,
      maxAsyncRetryAttempts,
      onSuccess: current?.onSuccess,
      onFailure: current?.onFailure,
      // Kept destinations were checked when they were set.
      targetUrns: [],
      enableAsyncStatusLog: enable ?? current?.enableAsyncStatusLog ?? false,
    }
  }
  if (typeof dc !== 'object' || Array.isArray(dc)) {
    bad(`'destination_config' must be an object.`)
  }
  const destinations = dc as { on_success?: unknown; on_failure?: unknown }
  const onSuccess = parseDestination(destinations.on_success, 'destination_config.on_success')
  const onFailure = parseDestination(destinations.on_failure, 'destination_config.on_failure')
  return {
    maxAsyncEventAgeS,
    maxAsyncRetryAttempts,
    onSuccess,
    onFailure,
    targetUrns: [onSuccess, onFailure].flatMap((d) =>
      d === undefined ? [] : [destinationFunctionUrn(d)],
    ),
    enableAsyncStatusLog: enable ?? current?.enableAsyncStatusLog ?? false,
  }
}

/** The qualifier string a URN names: `latest`, the version, or `!alias`. */
export function qualifierOf(ref: FunctionRef): string {
  const q = ref.qualifier
  if (q === undefined) {
    return 'latest'
  }
  return q.kind === 'alias' ? `!${q.alias}` : q.version
}
