/**
 * @module The record an async destination receives (reference §6.10), also kept as the dead letter
 * of every failed or discarded event.
 */

/** Why the event went to a destination: FunctionGraph's and Lambda's condition names. */
export type DestinationCondition =
  '' | 'UnhandledInvocationError' | 'EventAgeExceeded' | 'FunctionNotFound'

export interface DestinationPayloadInput {
  readonly requestId: string
  readonly functionUrn: string
  readonly condition: DestinationCondition
  /** Attempts made. */
  readonly approximateInvokeCount: number
  readonly requestPayload: Buffer
  /** 200 for a success, 500 for a function error, 0 when the function never answered. */
  readonly statusCode: number
  /** The error type of a function error ('' otherwise). */
  readonly functionError: string
  /** The function's result or error JSON, as text ('' when there is none). */
  readonly responsePayload: string
  readonly nowMs: number
}

/** The §6.10 document, as JSON text. */
export function buildDestinationPayload(input: DestinationPayloadInput): string {
  return JSON.stringify({
    timestamp: new Date(input.nowMs).toISOString(),
    request_context: {
      request_id: input.requestId,
      function_urn: input.functionUrn,
      condition: input.condition,
      approximate_invoke_count: input.approximateInvokeCount,
    },
    request_payload: input.requestPayload.toString('utf8'),
    response_context: { status_code: input.statusCode, function_error: input.functionError },
    response_payload: input.responsePayload,
  })
}
