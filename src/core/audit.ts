/**
 * @module The audit trail's record (CTS, reference §6.6): one management call, who made it, on what,
 * when, from where and how it ended. Never a body, code or secret: names and ids only.
 */

/** The only service Strato audits: itself, under FunctionGraph's CTS service name. */
export const AUDIT_SERVICE_TYPE = 'FunctionGraph'

/** CTS's rating of a trace: `warning` for a refused call, `incident` for a platform failure. */
export type AuditTraceRating = 'normal' | 'warning' | 'incident'

/** What an audited call changed (CTS `resource_type`). */
export const AUDIT_RESOURCE_TYPES = [
  'function',
  'version',
  'alias',
  'trigger',
  'event',
  'dependency',
  'tenant',
  'workflow',
  'vpc_endpoint',
] as const
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number]

/** One management call as the trail keeps it. */
export interface AuditRecord {
  /** A UUID; the trace's id in ListTraces and the CTS event. */
  readonly traceId: string
  /** The project the call acted on (the caller's: the API refuses others). */
  readonly projectId: string
  readonly timeMs: number
  /** An operation name of FunctionGraph's SDK, e.g. `createFunction`. */
  readonly traceName: string
  readonly resourceType: AuditResourceType
  /** The resource's name: a function, alias, trigger type, test event or dependency name. */
  readonly resourceName: string
  /** Its id: a function URN (qualified for versions and aliases), a trigger or event id. */
  readonly resourceId: string
  /**
   * The unqualified URN of the function the call touched ('' for none): the CTS trigger does not
   * deliver a function the records of its own changes (a loop).
   */
  readonly functionUrn: string
  /** The HTTP status answered. */
  readonly code: number
  /** The FSS code of a refused or failed call, '' on success. */
  readonly errorCode: string
  readonly sourceIp: string
  /** Who: the access key the call was signed with. */
  readonly accessKey: string
  /** The API's request id (`X-Request-Id`). */
  readonly requestId: string
  /** `ApiCall` for a signed API call, `SystemAction` for what Strato did on its own. */
  readonly traceType: 'ApiCall' | 'SystemAction'
}

/** CTS's rating from the answered status. */
export function traceRatingOf(code: number): AuditTraceRating {
  return code >= 500 ? 'incident' : code >= 400 ? 'warning' : 'normal'
}
