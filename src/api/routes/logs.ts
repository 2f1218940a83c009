/**
 * @module Logs as FunctionGraph exposes them (reference §4.6): each function's LTS group and
 * stream (`lts-log-detail`), `enable-lts-logs` (Strato's logs are always on), and the project's
 * async status log switch. FunctionGraph has no log query API (its logs go to LTS), so the
 * searches (`…/logs`, `…/async-status-logs`) are Strato's own; the CLI's `logs` uses them.
 */
import type { FastifyInstance } from 'fastify'
import {
  LOG_LEVELS,
  StratoError,
  asyncStatusLogStreamOf,
  formatInvocationLog,
  logGroupOf,
  logStreamOf,
  type LogLevel,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

type Params = FunctionPathParams

interface SearchQuery {
  request_id?: string
  limit?: string
  start_time?: string
  end_time?: string
  level?: string
  status?: string
  contains?: string
  order?: string
  marker?: string
}

function invalid(name: string, raw: string, what: string): StratoError {
  return new StratoError(
    'INVALID_QUERY',
    `Invalid query parameter '${name}' (${JSON.stringify(raw.slice(0, 40))}): ${what}.`,
  )
}

/** One query parameter as a string (a repeated one is refused: which was meant is unknowable). */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name]
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (typeof raw !== 'string') {
    throw invalid(name, JSON.stringify(raw), 'give it once')
  }
  return raw
}

/** Epoch milliseconds, or an ISO 8601 time (`2026-12-06T07:00:00Z`). */
function timeParam(query: Record<string, unknown>, name: string): number | undefined {
  const raw = single(query, name)
  if (raw === undefined) {
    return undefined
  }
  const ms = /^\d{1,16}$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(ms)) {
    throw invalid(name, raw, 'it must be epoch milliseconds or an ISO 8601 time')
  }
  return ms
}

function oneOf<T extends string>(
  query: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
  normalise: (s: string) => string = (s) => s,
): T | undefined {
  const raw = single(query, name)
  if (raw === undefined) {
    return undefined
  }
  const value = normalise(raw)
  const found = allowed.find((a) => a === value)
  if (found === undefined) {
    throw invalid(name, raw, `it must be one of ${allowed.join(', ')}`)
  }
  return found
}

/** What every search takes: time range, order, cursor and page size. */
function searchWindow(query: Record<string, unknown>): {
  fromMs: number | undefined
  toMs: number | undefined
  order: 'asc' | 'desc'
  cursor: string | undefined
  limit: number
} {
  const { size: limit } = parsePageQuery(
    { limit: query.limit },
    { size: 'limit', fallback: 20, max: 500 },
  )
  return {
    fromMs: timeParam(query, 'start_time'),
    toMs: timeParam(query, 'end_time'),
    order: oneOf(query, 'order', ['asc', 'desc'] as const) ?? 'desc',
    cursor: single(query, 'marker'),
    limit,
  }
}

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

  // enableLtsLogs: on FunctionGraph this turns on LTS reporting for the project (an empty 200).
  // Strato writes every function's logs from the start, so there is nothing to switch: the same
  // 200, whose body says so and names the project's group (Strato's additions; the SDK's
  // response has no fields).
  app.post<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/functions/enable-lts-logs',
    (request) => {
      const group = logGroupOf(request.params.project_id)
      return Promise.resolve({
        enabled: true,
        always_on: true,
        message: "Strato's function logs are always on; nothing was changed.",
        group_name: group.name,
        group_id: group.id,
      })
    },
  )

  // enableAsyncStatusLog: the project's async events write their status changes to its
  // async-status stream from now on. No body, an empty 200, as on FunctionGraph; repeating it is
  // harmless. (FunctionGraph has no call to turn it off; Strato's is a DELETE on the same path.)
  app.post<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/functions/enable-async-status-logs',
    async (request) => {
      await deps.store.logSettings.setAsyncStatusLog(request.params.project_id, true)
      return {}
    },
  )

  app.delete<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/functions/enable-async-status-logs',
    async (request, reply) => {
      await deps.store.logSettings.setAsyncStatusLog(request.params.project_id, false)
      return reply.code(204).send()
    },
  )

  // showProjectAsyncStatusLogInfo: where the project's async status changes go; empty strings
  // while the project has not turned them on (there is no stream to name yet).
  app.get<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/functions/async-status-log-detail',
    (request) => {
      const projectId = request.params.project_id
      if (!deps.store.logSettings.asyncStatusLogEnabled(projectId)) {
        return Promise.resolve({ group_name: '', group_id: '', stream_id: '', stream_name: '' })
      }
      const group = logGroupOf(projectId)
      const stream = asyncStatusLogStreamOf(projectId)
      return Promise.resolve({
        group_name: group.name,
        group_id: group.id,
        stream_id: stream.id,
        stream_name: stream.name,
      })
    },
  )

  // Strato: the project's async status stream, searched and paged like a function's logs.
  app.get<{ Params: { project_id: string }; Querystring: SearchQuery }>(
    '/v2/:project_id/fgs/functions/async-status-logs',
    async (request) => {
      const query = request.query as Record<string, unknown>
      const window = searchWindow(query)
      const page = await deps.store.logs.searchAsyncStatus({
        projectId: request.params.project_id,
        ...window,
        requestId: single(query, 'request_id'),
        status: oneOf(
          query,
          'status',
          ['WAIT', 'RUNNING', 'SUCCESS', 'FAIL', 'DISCARD'] as const,
          (s) => s.toUpperCase(),
        ),
      })
      const stream = asyncStatusLogStreamOf(request.params.project_id)
      return {
        stream_id: stream.id,
        logs: page.entries.map(({ position, entry: e }) => ({
          position,
          time: new Date(e.atMs).toISOString(),
          request_id: e.requestId,
          func_urn: e.functionUrn,
          status: e.status,
          attempts: e.attempts,
          error_code: e.errorCode,
          message: e.message,
        })),
        count: page.entries.length,
        next_marker: page.next ?? '',
      }
    },
  )

  // Strato: a function's invocation logs. Without search parameters this is the newest `limit`
  // entries, as it always was; `start_time`, `end_time`, `level`, `status`, `contains`, `order`
  // and `marker` (a `next_marker`) search and page (store's log-search.ts: bounded cost).
  app.get<{ Params: Params; Querystring: SearchQuery }>(
    '/v2/:project_id/fgs/functions/:function_urn/logs',
    async (request) => {
      const { latest: fn } = await resolveFunction(deps.resolution, request.params)
      const query = request.query as Record<string, unknown>
      const window = searchWindow(query)
      const level: LogLevel | undefined = oneOf(query, 'level', LOG_LEVELS, (s) => {
        const upper = s.toUpperCase()
        return upper === 'WARNING' ? 'WARN' : upper
      })
      const page = await deps.store.logs.search({
        functionId: fn.id,
        ...window,
        requestId: single(query, 'request_id'),
        minLevel: level,
        status: oneOf(query, 'status', ['success', 'error'] as const, (s) => s.toLowerCase()),
        contains: single(query, 'contains'),
      })
      return {
        logs: page.entries.map(({ position, entry: e }) => ({
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
          position,
        })),
        count: page.entries.length,
        // '' once a newest-first search reached its end; always set in `asc` order (a follow).
        next_marker: page.next ?? '',
      }
    },
  )
}
