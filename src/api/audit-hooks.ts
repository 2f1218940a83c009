/**
 * @module The audit hook: every management route (the audit table's) gets route-level hooks that
 * append one record per answered call, after the answer went out (`onResponse`). Routes outside
 * the table, invocations among them, get no hook at all: auditing costs them nothing.
 */
import { randomUUID } from 'node:crypto'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
  onErrorHookHandler,
  onResponseHookHandler,
  onSendHookHandler,
} from 'fastify'
import { managementOperationOf, type ManagementOperation } from '../audit/index.js'
import type { ApiDeps } from './deps.js'
import { toStratoError } from './error-handler.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The FSS code the call failed with (set by the audit hook's `onError`). */
    auditErrorCode: string | undefined
    /** The id a create answered with (routes whose operation names `idFromAnswer`). */
    auditAnsweredId: string | undefined
  }
}

/** A route's hooks of one kind as a list (a route may name one function, a list or none). */
function listOf<T>(existing: T | T[] | undefined): T[] {
  return existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
}

/** Counts hook calls, for the test that proves invocations never reach the hook. */
export interface AuditHookStats {
  calls: number
}

/**
 * Installs the hooks on every route registered after it in `app` (call it first in the signed
 * plugin). Records go to the store's trail, which writes them in batches.
 */
export function installAuditHooks(app: FastifyInstance, deps: ApiDeps): AuditHookStats {
  const stats: AuditHookStats = { calls: 0 }
  app.decorateRequest('auditErrorCode', undefined)
  app.decorateRequest('auditAnsweredId', undefined)
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const operation = methods
      .map((m) => managementOperationOf(m, route.url))
      .find((o) => o !== undefined)
    if (operation === undefined) {
      return
    }
    const onError: onErrorHookHandler = (request, _reply, error, done) => {
      request.auditErrorCode = toStratoError(error).spec.fss
      done()
    }
    route.onError = [...listOf(route.onError), onError]
    const field = operation.idFromAnswer
    if (field !== undefined) {
      const onSend: onSendHookHandler = (request, reply, payload, done) => {
        if (reply.statusCode < 300 && typeof payload === 'string') {
          request.auditAnsweredId = idIn(payload, field)
        }
        done(null, payload)
      }
      route.onSend = [...listOf(route.onSend), onSend]
    }
    const onResponse: onResponseHookHandler = (request, reply, done) => {
      stats.calls++
      record(deps, operation, request, reply)
      done()
    }
    route.onResponse = [...listOf(route.onResponse), onResponse]
  })
  return stats
}

function idIn(payload: string, field: string): string | undefined {
  try {
    const v = (JSON.parse(payload) as Record<string, unknown>)[field]
    return typeof v === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

function record(
  deps: ApiDeps,
  operation: ManagementOperation,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const principal = request.principal
  if (principal === undefined) {
    // Unsigned or badly signed: nobody to record it against, and recording it would let anyone
    // fill any project's trail.
    return
  }
  try {
    const resource = operation.resource({
      params: request.params as Record<string, string | undefined>,
      body: request.body,
      projectId: principal.projectId,
      region: deps.config.region,
    })
    deps.store.audit.append({
      traceId: randomUUID(),
      projectId: principal.projectId,
      timeMs: Date.now(),
      traceName: operation.traceName,
      resourceType: operation.resourceType,
      resourceName: resource.name,
      resourceId: request.auditAnsweredId ?? resource.id,
      functionUrn: resource.functionUrn,
      code: reply.statusCode,
      errorCode: reply.statusCode >= 400 ? (request.auditErrorCode ?? '') : '',
      sourceIp: request.ip,
      accessKey: principal.accessKey,
      requestId: request.id,
      traceType: 'ApiCall',
    })
  } catch (err) {
    request.log.error({ err }, 'an audit record could not be queued')
  }
}
