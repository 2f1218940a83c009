/**
 * @module Strato extension: per-invocation logs by function and request id. FunctionGraph has no
 * log query API (its logs go to LTS), so this path is Strato's own; the CLI's `logs` uses it.
 */
import type { FastifyInstance } from 'fastify'
import { formatInvocationLog, logGroupOf, logStreamOf } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

type Params = FunctionPathParams

export function registerLogRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // showLtsLogDetails (reference §4.6): the group and stream the function logs into, the ids an
  // LTS trigger subscribes with.
  app.get<{ Params: Params }>(
    '/v2/:project_id/fgs/functions/:function_urn/lts-log-detail',
    async (request) => {
      const { latest: fn } = await resolveFunction(deps.resolution, request.params)
      const group = logGroupOf(fn.projectId)
      const stream = logStreamOf(fn)
      return {
        group_name: group.name,
        group_id: group.id,
        stream_id: stream.id,
        stream_name: stream.name,
      }
    },
  )

  app.get<{ Params: Params; Querystring: { request_id?: string; limit?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/logs',
    async (request) => {
      const { latest: fn } = await resolveFunction(deps.resolution, request.params)
      // The newest entries only: this list has no marker.
      const { size: limit } = parsePageQuery(
        { limit: request.query.limit },
        { size: 'limit', fallback: 20, max: 500 },
      )
      const entries = await deps.store.logs.list({
        functionId: fn.id,
        requestId: request.query.request_id,
        limit,
      })
      return {
        logs: entries.map((e) => ({
          request_id: e.requestId,
          // Strato addition: async events may run more than once under one request id.
          attempt: e.attempt ?? 1,
          version: e.version,
          start_time: new Date(e.startedAtMs).toISOString(),
          duration: e.durationMs,
          status: e.errorType === undefined ? 'success' : 'error',
          error_type: e.errorType ?? '',
          memory_used: e.memoryUsedMb,
          log: formatInvocationLog(e),
        })),
        count: entries.length,
      }
    },
  )
}
