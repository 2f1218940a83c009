/** @module The invocation log entry of one outcome, as the pool appends it. */
import type { InvocationRecord, InvocationRequest } from '../core/index.js'
import type { GuestOutcome } from '../runtime/index.js'

/** The log entry of `outcome`, timed from `startMs` (the invoke, or the request for a start failure). */
export function invocationRecordOf(
  request: InvocationRequest,
  startMs: number,
  endMs: number,
  outcome: GuestOutcome,
): InvocationRecord {
  const durationMs = Math.max(0, endMs - startMs)
  const failed = !outcome.ok
  return {
    requestId: request.requestId,
    attempt: request.attempt ?? 1,
    version: request.version,
    startedAtMs: startMs,
    durationMs,
    billedDurationMs: Math.max(1, Math.ceil(durationMs)),
    memorySizeMb: request.fn.memorySizeMb,
    memoryUsedMb: Math.round(outcome.memoryUsedMb * 1000) / 1000,
    errorType: failed ? (outcome.errorType ?? 'Error') : undefined,
    errorMessage: failed ? errorMessageOf(outcome.body) : undefined,
    output: outcome.log,
  }
}

function errorMessageOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errorMessage?: unknown }
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : body.toString('utf8')
  } catch {
    return body.toString('utf8')
  }
}
