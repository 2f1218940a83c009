/**
 * @module A leased row of the embedded async queue, and the LeasedEvent the dispatcher sees of it.
 */
import type { LeasedEvent, NewAsyncEvent } from '../core/index.js'

export interface LeaseRow {
  request_id: string
  project_id: string
  function_id: string
  function_urn: string
  qualifier: string
  payload: Buffer
  timeout_ms: number
  accepted_at: number
  attempts: number
  function_errors: number
  system_errors: number
  traceparent: string
  context_headers_json: string | null
}

/** A leased row as the dispatcher sees it: `attempt` is the one this lease may run. */
export function leasedEventOf(r: LeaseRow, leaseToken: string): LeasedEvent {
  return {
    requestId: r.request_id,
    projectId: r.project_id,
    functionId: r.function_id,
    functionUrn: r.function_urn,
    qualifier: r.qualifier,
    payload: r.payload,
    acceptedAtMs: r.accepted_at,
    timeoutMs: r.timeout_ms,
    leaseToken,
    attempt: r.attempts + 1,
    functionErrors: r.function_errors,
    systemErrors: r.system_errors,
    ...(r.traceparent === '' ? {} : { traceparent: r.traceparent }),
    ...(r.context_headers_json === null
      ? {}
      : { contextHeaders: JSON.parse(r.context_headers_json) as Record<string, string> }),
  }
}

/** The `context_headers_json` column of an event: null when it has none. */
export function contextHeadersJson(e: NewAsyncEvent): string | null {
  return e.contextHeaders === undefined ? null : JSON.stringify(e.contextHeaders)
}
