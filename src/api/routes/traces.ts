/**
 * @module CTS's ListTraces (`GET /v3/{project_id}/traces`) over the audit trail: the project's
 * management calls, newest first, with CTS's filters and `next`/`marker` paging. Signed like the
 * rest of the API; a key sees only its own project's traces.
 */
import type { FastifyInstance } from 'fastify'
import { ctsTraceView } from '../../audit/index.js'
import {
  AUDIT_RESOURCE_TYPES,
  AUDIT_SERVICE_TYPE,
  StratoError,
  type AuditResourceType,
  type AuditTraceRating,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'

interface TraceQuery {
  trace_type?: string
  service_type?: string
  resource_type?: string
  resource_name?: string
  resource_id?: string
  trace_name?: string
  trace_rating?: string
  trace_id?: string
  user?: string
  from?: string
  to?: string
  limit?: string
  next?: string
  tracker_name?: string
}

const HOUR_MS = 3_600_000

function bad(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', detail)
}

/** A 13-digit millisecond timestamp, as CTS takes `from` and `to`. */
function millis(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (!/^\d{1,13}$/.test(raw)) {
    bad(`'${name}' must be a UTC timestamp in milliseconds (13 digits).`)
  }
  return Number(raw)
}

function limitOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') {
    return 10
  }
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 200) {
    bad("'limit' must be an integer from 1 to 200.")
  }
  return n
}

function resourceTypeOf(raw: string | undefined): AuditResourceType | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (!(AUDIT_RESOURCE_TYPES as readonly string[]).includes(raw)) {
    bad(`'resource_type' must be one of ${AUDIT_RESOURCE_TYPES.join(', ')}.`)
  }
  return raw as AuditResourceType
}

function ratingOf(raw: string | undefined): AuditTraceRating | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (raw !== 'normal' && raw !== 'warning' && raw !== 'incident') {
    bad("'trace_rating' must be normal, warning or incident.")
  }
  return raw
}

function opt(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' ? undefined : raw
}

export function registerTraceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { project_id: string }; Querystring: TraceQuery }>(
    '/v3/:project_id/traces',
    async (request) => {
      const q = request.query
      const traceType = q.trace_type ?? 'system'
      if (traceType !== 'system' && traceType !== 'data') {
        bad("'trace_type' must be system or data.")
      }
      const limit = limitOf(q.limit)
      const toMs = millis('to', q.to)
      // CTS: `from` defaults to an hour ago (before `to` when given).
      const fromMs = millis('from', q.from) ?? (toMs ?? Date.now()) - HOUR_MS
      const resourceType = resourceTypeOf(q.resource_type)
      const traceRating = ratingOf(q.trace_rating)
      // Management calls are system traces of FunctionGraph; there are no data traces here.
      const none =
        traceType === 'data' ||
        (q.service_type !== undefined &&
          q.service_type !== '' &&
          q.service_type.toLowerCase() !== AUDIT_SERVICE_TYPE.toLowerCase())
      const { records, more } = none
        ? { records: [], more: false }
        : await deps.store.audit.list({
            projectId: request.params.project_id,
            fromMs,
            toMs,
            resourceType,
            resourceName: opt(q.resource_name),
            resourceId: opt(q.resource_id),
            traceName: opt(q.trace_name),
            traceRating,
            traceId: opt(q.trace_id),
            user: opt(q.user),
            beforeTraceId: opt(q.next),
            limit,
          })
      const last = records.at(-1)
      return {
        traces: records.map(ctsTraceView),
        meta_data: {
          count: records.length,
          ...(more && last !== undefined ? { marker: last.traceId } : {}),
        },
      }
    },
  )
}
