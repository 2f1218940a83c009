/**
 * @module The audit trail's rows, shared by the embedded AuditTrailStore (SQLite) and the cluster
 * PgAuditTrailStore (PostgreSQL): both read the same `audit_traces` columns, batch on the same
 * sizes and speak the same feed positions.
 */
import type { AuditRecord, AuditResourceType, AuditTraceRating } from '../core/index.js'

export interface AuditRow {
  seq: number
  trace_id: string
  project_id: string
  time_ms: number
  trace_name: string
  resource_type: string
  resource_name: string
  resource_id: string
  function_urn: string
  code: number
  error_code: string
  source_ip: string
  access_key: string
  request_id: string
  trace_type: string
}

/** What a read selects (an AuditRow). */
export const AUDIT_COLUMNS =
  'seq, trace_id, project_id, time_ms, trace_name, resource_type, resource_name, resource_id, function_urn, code, error_code, source_ip, access_key, request_id, trace_type'

/** Written once this many wait, or after AUDIT_FLUSH_AFTER_MS. */
export const AUDIT_BATCH_RECORDS = 256
export const AUDIT_FLUSH_AFTER_MS = 200

export function auditRecordOf(r: AuditRow): AuditRecord {
  return {
    traceId: r.trace_id,
    projectId: r.project_id,
    // A number already in SQLite; an int8 from PostgreSQL is made one here too.
    timeMs: Number(r.time_ms),
    traceName: r.trace_name,
    resourceType: r.resource_type as AuditResourceType,
    resourceName: r.resource_name,
    resourceId: r.resource_id,
    functionUrn: r.function_urn,
    code: r.code,
    errorCode: r.error_code,
    sourceIp: r.source_ip,
    accessKey: r.access_key,
    requestId: r.request_id,
    traceType: r.trace_type === 'SystemAction' ? 'SystemAction' : 'ApiCall',
  }
}

/** A feed position as written by `readAfter`; anything else reads from the start. */
export function auditPositionOf(after: string | undefined): number {
  const n = after === undefined ? 0 : Number(after)
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

/** The condition on `code` a trace rating stands for (the same SQL in both dialects). */
export function auditRatingCondition(rating: AuditTraceRating): string {
  return rating === 'normal'
    ? 'code < 400'
    : rating === 'warning'
      ? 'code >= 400 AND code < 500'
      : 'code >= 500'
}
