/**
 * @module How an execution ends: the final event and the execution update for each way a drive
 * can end (success, failure, timeout, full history, an EXPRESS run cut by a restart).
 */
import type { ExecutionUpdate, NewFlowEvent } from '../../core/index.js'
import type { ExecutionOutcome, JsonValue } from '../asl/definition.js'
import { TIMEOUT } from './function-calls.js'
import type { StopReason } from './history-host.js'

/** How a drive ended, for a sync start's answer. */
export interface Ending {
  readonly status: 'success' | 'fail' | 'timeout'
  readonly output: JsonValue | undefined
  readonly error: string | undefined
  readonly cause: string | undefined
}

export function executionEvent(type: NewFlowEvent['type'], payload: unknown): NewFlowEvent {
  return {
    type,
    path: '',
    stateName: '',
    nodeId: '',
    nodeName: '',
    attempt: 1,
    at: Date.now(),
    payloadJson: JSON.stringify(payload),
    requestId: undefined,
  }
}

export function failedEnding(
  status: 'fail' | 'timeout',
  error: string,
  cause: string | undefined,
  nodeId: string | undefined,
  endAt: number,
): { event: NewFlowEvent; update: ExecutionUpdate; summary: Ending } {
  return {
    event: executionEvent(status === 'timeout' ? 'ExecutionTimedOut' : 'ExecutionFailed', {
      error,
      cause,
      nodeId,
    }),
    update: { status, error: { error, cause, nodeId }, endAt },
    summary: { status, output: undefined, error, cause },
  }
}

export function failedOnRestart(): [NewFlowEvent[], ExecutionUpdate] {
  const { event, update } = failedEnding(
    'fail',
    'States.Runtime',
    JSON.stringify({
      errorMessage: 'Strato stopped during this EXPRESS execution, which keeps no history.',
      errorType: 'States.Runtime',
    }),
    undefined,
    Date.now(),
  )
  return [[event], update]
}

/** A failure's message: the cause's `errorMessage` when it is the usual JSON, else the cause. */
export function messageOf(error: string, cause: string | undefined): string {
  if (cause === undefined) {
    return error
  }
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown }
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause
  } catch {
    return cause
  }
}

/** The final event and update, or undefined when the run must not be ended by this driver. */
export function endingOf(
  outcome: ExecutionOutcome | undefined,
  reason: StopReason | undefined,
  nodeOf: (state: string | undefined) => string | undefined,
): { event: NewFlowEvent; update: ExecutionUpdate; summary: Ending } | undefined {
  const endAt = Date.now()
  if (outcome === undefined) {
    if (reason === 'timeout') {
      return failedEnding('timeout', TIMEOUT, 'The execution timed out.', undefined, endAt)
    }
    if (reason === 'history-full') {
      return failedEnding(
        'fail',
        'States.HistoryLimitExceeded',
        'The execution history reached its limit.',
        undefined,
        endAt,
      )
    }
    return undefined
  }
  if (outcome.status === 'SUCCEEDED') {
    return {
      event: executionEvent('ExecutionSucceeded', { output: outcome.output }),
      update: { status: 'success', outputJson: JSON.stringify(outcome.output), endAt },
      summary: { status: 'success', output: outcome.output, error: undefined, cause: undefined },
    }
  }
  const timedOut = outcome.error === TIMEOUT && outcome.failedState === undefined
  return failedEnding(
    timedOut ? 'timeout' : 'fail',
    outcome.error,
    outcome.cause,
    nodeOf(outcome.failedState),
    endAt,
  )
}
