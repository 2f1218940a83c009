/**
 * @module How an async attempt ends for good (its destination event and dead letter), what a
 * platform fault looks like in an invocation result, and the log entry of an attempt a crash cut.
 */
import {
  destinationFunctionUrn,
  isPlatformFault,
  newRequestId,
  type AsyncDestination,
  type AsyncInvokeConfig,
  type AsyncSettlement,
  type InvocationRecord,
  type InvocationResult,
  type LeasedEvent,
  type NewAsyncEvent,
  type RecoveredLease,
  type TerminalAsyncStatus,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import { buildDestinationPayload, type DestinationCondition } from './destination-payload.js'
import type { ResolveAsyncTarget } from './dispatcher-ports.js'

/**
 * What the §6.10 record of a terminal settlement says. The last three are left out when the
 * function never answered: status code 0, no function error, no response.
 */
export interface TerminalOutcome {
  readonly errorCode: number
  readonly errorMessage: string
  readonly condition: DestinationCondition
  readonly invokeCount: number
  readonly statusCode?: number
  readonly functionError?: string
  readonly response?: string
}

/** What a terminal settlement needs to find its destination function. */
export interface DestinationLookup {
  readonly resolve: ResolveAsyncTarget
  readonly logger: Logger
}

/**
 * An instance that died under the function without the function ending it (killed by a signal, a
 * crashed interpreter), or that could not start in time, is a platform fault: retried like
 * throttling until the event's max age (issue 4). A `process.exit`/`sys.exit` is the function's own
 * outcome, as are timeouts, running out of memory and errors loading the code. Core's
 * function-error table decides (`FunctionErrorTypes`).
 */
export function isInstanceCrash(result: InvocationResult): boolean {
  return isPlatformFault(result.record.errorType, result.record.errorMessage)
}

/** The errorType of the log entry of an attempt cut short by a crash or stop of Strato. */
const PLATFORM_RESTART_ERROR_TYPE = 'PlatformRestart'

/** The log entry of an attempt that a crash or stop of Strato cut short (issue 12). */
export function lostAttemptRecord(lease: RecoveredLease): InvocationRecord {
  return {
    requestId: lease.requestId,
    attempt: lease.attempt,
    // The version that ran is not known; the URN's qualifier is (`!alias` for an alias).
    version: lease.qualifier,
    startedAtMs: lease.leasedAtMs,
    durationMs: 0,
    billedDurationMs: 0,
    memorySizeMb: 0,
    memoryUsedMb: 0,
    errorType: PLATFORM_RESTART_ERROR_TYPE,
    errorMessage:
      'The attempt was interrupted: Strato stopped or crashed while it ran. The event is retried (a system error, not counted against max_async_retry_attempts).',
    output: '',
  }
}

/** A terminal settlement with its destination event (if any) and, unless a success, a dead letter. */
export async function terminalSettlement(
  lookup: DestinationLookup,
  event: LeasedEvent,
  config: AsyncInvokeConfig | undefined,
  status: TerminalAsyncStatus,
  outcome: TerminalOutcome,
): Promise<AsyncSettlement> {
  const nowMs = Date.now()
  const record = buildDestinationPayload({
    requestId: event.requestId,
    functionUrn: event.functionUrn,
    condition: outcome.condition,
    approximateInvokeCount: outcome.invokeCount,
    requestPayload: event.payload,
    statusCode: outcome.statusCode ?? 0,
    functionError: outcome.functionError ?? '',
    responsePayload: outcome.response ?? '',
    nowMs,
  })
  const destination = status === 'SUCCESS' ? config?.onSuccess : config?.onFailure
  const enqueue: NewAsyncEvent[] = []
  let undeliverable = false
  if (destination !== undefined) {
    const next = await destinationEvent(event, destination, record, nowMs, lookup)
    if (next === undefined) {
      undeliverable = true
    } else {
      enqueue.push(next)
    }
  }
  // Every failed or discarded event, and any record whose destination is gone, is kept.
  const deadLetter =
    status !== 'SUCCESS' || undeliverable
      ? {
          projectId: event.projectId,
          functionId: event.functionId,
          requestId: event.requestId,
          createdAtMs: nowMs,
          record,
        }
      : undefined
  return {
    kind: 'done',
    status,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    endedAtMs: nowMs,
    enqueue,
    deadLetter,
  }
}

async function destinationEvent(
  event: LeasedEvent,
  destination: AsyncDestination,
  record: string,
  nowMs: number,
  lookup: DestinationLookup,
): Promise<NewAsyncEvent | undefined> {
  try {
    const target = await lookup.resolve(event.projectId, destinationFunctionUrn(destination))
    return {
      requestId: newRequestId(),
      projectId: event.projectId,
      functionId: target.fn.id,
      functionUrn: target.functionUrn,
      qualifier: target.qualifier,
      payload: Buffer.from(record, 'utf8'),
      acceptedAtMs: nowMs,
      timeoutMs: target.fn.timeoutS * 1000,
    }
  } catch (err) {
    lookup.logger.warn(
      { err, requestId: event.requestId },
      'async destination cannot be reached; the record goes to the dead-letter list',
    )
    return undefined
  }
}
