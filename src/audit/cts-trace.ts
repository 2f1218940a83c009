/**
 * @module A record as CTS shows it: a trace of ListTraces (`GET /v3/{project_id}/traces`) and the
 * CTS trigger's event (reference §6.6). `request` and `response` stay empty: the trail never keeps
 * bodies (they may hold code, environment values or broker passwords).
 */
import { AUDIT_SERVICE_TYPE, traceRatingOf, type AuditRecord } from '../core/index.js'

/** CTS's user: Strato knows the access key and its project (the tenant), not IAM users. */
function userOf(r: AuditRecord): Record<string, unknown> {
  return {
    id: r.accessKey,
    name: r.accessKey,
    access_key_id: r.accessKey,
    domain: { id: r.projectId, name: r.projectId },
  }
}

/** One element of ListTraces' `traces`. */
export function ctsTraceView(r: AuditRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    trace_id: r.traceId,
    trace_name: r.traceName,
    trace_rating: traceRatingOf(r.code),
    trace_type: r.traceType,
    service_type: AUDIT_SERVICE_TYPE,
    resource_type: r.resourceType,
    resource_name: r.resourceName,
    resource_id: r.resourceId,
    source_ip: r.sourceIp,
    user: userOf(r),
    time: r.timeMs,
    record_time: r.timeMs,
    code: String(r.code),
    request_id: r.requestId,
    api_version: 'v2',
    read_only: false,
  }
  if (r.errorCode !== '') {
    view.message = r.errorCode
  }
  return view
}

/**
 * The CTS trigger's event (§6.6). Times are milliseconds, as ListTraces has them and as the OTC
 * runtime docs describe `time` (Huawei's sample shows seconds).
 */
export function ctsEvent(r: AuditRecord): Record<string, unknown> {
  return {
    cts: {
      time: r.timeMs,
      user: { name: r.accessKey, id: r.accessKey, domain: { name: r.projectId, id: r.projectId } },
      request: {},
      response: {},
      code: r.code,
      service_type: AUDIT_SERVICE_TYPE,
      resource_type: r.resourceType,
      resource_name: r.resourceName,
      resource_id: r.resourceId,
      trace_name: r.traceName,
      trace_type: r.traceType,
      record_time: r.timeMs,
      trace_id: r.traceId,
      trace_status: traceRatingOf(r.code),
      source_ip: r.sourceIp,
      ...(r.errorCode === '' ? {} : { error_code: r.errorCode }),
    },
  }
}
