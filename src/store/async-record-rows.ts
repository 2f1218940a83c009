/**
 * @module The async queue's record rows, shared by the embedded (`sqlite-async-records.ts`) and
 * the cluster (`pg/pg-async-records.ts`) record side: the same columns read back the same way.
 */
import {
  ASYNC_STATUSES,
  type AsyncRecord,
  type AsyncStatus,
  type StoredDeadLetter,
} from '../core/index.js'

export function isAsyncStatus(s: string): s is AsyncStatus {
  return (ASYNC_STATUSES as readonly string[]).includes(s)
}

export interface AsyncRecordRow {
  request_id: string
  status: string
  error_code: number
  error_message: string
  accepted_at: number
  started_at: number | null
  ended_at: number | null
  attempts: number
  trigger_id: string
}

export function asyncRecordOf(r: AsyncRecordRow): AsyncRecord {
  return {
    requestId: r.request_id,
    // A status this version does not know reads as waiting.
    status: isAsyncStatus(r.status) ? r.status : 'WAIT',
    errorCode: r.error_code,
    errorMessage: r.error_message,
    acceptedAtMs: r.accepted_at,
    startedAtMs: r.started_at ?? undefined,
    endedAtMs: r.ended_at ?? undefined,
    attempts: r.attempts,
    triggerId: r.trigger_id,
  }
}

export interface DeadLetterRow {
  id: number
  project_id: string
  function_id: string
  request_id: string
  created_at: number
  record: string
}

export function deadLetterOf(r: DeadLetterRow): StoredDeadLetter {
  return {
    id: r.id,
    projectId: r.project_id,
    functionId: r.function_id,
    requestId: r.request_id,
    createdAtMs: r.created_at,
    record: r.record,
  }
}
