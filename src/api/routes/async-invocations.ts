/**
 * @module Asynchronous invocation (reference §4.7): accept an event (202 once it is durable), the
 * async invoke config of a version or alias, records and active records, cancel, and Strato's
 * dead-letter list. Events run later, in the dispatcher (`src/async`).
 */
import type { FastifyInstance } from 'fastify'
import {
  ASYNC_STATUSES,
  Limits,
  StratoError,
  acceptAsyncEvent,
  asBody,
  formatFunctionUrn,
  parseAsyncInvokeConfig,
  qualifierOf,
  type AsyncInvokeConfig,
  type AsyncRecord,
  type AsyncStatus,
  type FunctionRef,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery, type PageRules } from '../pagination.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

type Params = FunctionPathParams

interface RecordQuery {
  request_id?: string
  marker?: string
  limit?: string
  status?: string
  query_begin_time?: string
  query_end_time?: string
}

/** FunctionGraph's async record time: `2019-10-25T15:37:27`, UTC. */
function recordTime(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 19)
}

function urnOf(region: string, ref: FunctionRef, qualifier: string): string {
  return formatFunctionUrn(region, ref.projectId, ref.packageName, ref.functionName, qualifier)
}

/** The config as FunctionGraph returns it; its two dates have two different formats (§1.1). */
function configView(config: AsyncInvokeConfig, funcUrn: string): Record<string, unknown> {
  const iso = config.createdAt.toISOString().slice(0, 19)
  const destinationConfig: Record<string, unknown> = {}
  if (config.onSuccess !== undefined) {
    destinationConfig.on_success = config.onSuccess
  }
  if (config.onFailure !== undefined) {
    destinationConfig.on_failure = config.onFailure
  }
  return {
    func_urn: funcUrn,
    max_async_event_age_in_seconds: config.maxAsyncEventAgeS,
    max_async_retry_attempts: config.maxAsyncRetryAttempts,
    destination_config: destinationConfig,
    created_time: `${iso}+00:00`,
    last_modified: config.lastModified.toISOString().slice(0, 19).replace('T', ' '),
    enable_async_status_log: config.enableAsyncStatusLog,
  }
}

function recordView(r: AsyncRecord): Record<string, unknown> {
  return {
    request_id: r.requestId,
    status: r.status,
    error_message: r.errorMessage,
    error_code: r.errorCode,
    start_time: recordTime(r.startedAtMs ?? r.acceptedAtMs),
    end_time: recordTime(r.endedAtMs),
    // Strato addition: attempts started so far (async events may run more than once).
    attempts: r.attempts,
    // Strato addition: the trigger that fired the event, when one did.
    ...(r.triggerId === '' ? {} : { trigger_id: r.triggerId }),
  }
}

/** `YYYY-MM-DDTHH:mm:ss` is UTC (FunctionGraph's format); anything else Date can read is taken. */
function timeQuery(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  const bare = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(raw)
  const ms = Date.parse(bare ? `${raw.replace(' ', 'T')}Z` : raw)
  if (Number.isNaN(ms)) {
    throw new StratoError(
      'INVALID_QUERY',
      `'${name}' must be a time like 2019-10-25T15:37:27 (UTC).`,
    )
  }
  return ms
}

/** Async records and dead letters: 100 a page unless asked, at most 500 (reference §4.7). */
const RECORDS_PAGE: PageRules = { size: 'limit', fallback: 100, max: 500 }

/** Without a time window, a records listing covers the last hour (reference §4.7). */
const DEFAULT_WINDOW_MS = 3_600_000

export function registerAsyncInvocationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, config } = deps
  // Records are read from the store (whatever queue the events travel through).
  const asyncRecords = store.asyncRecords

  app.put<{ Params: Params }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-invoke-config',
    async (request) => {
      const { latest, ref } = await resolveFunction(deps.resolution, request.params)
      const qualifier = qualifierOf(ref)
      // Fields left out keep their stored values.
      const current = await store.asyncConfigs.get(latest.id, qualifier)
      const input = parseAsyncInvokeConfig(asBody(request.body), current)
      // A destination must be a function of this project that exists now.
      for (const urn of input.targetUrns) {
        await resolveFunction(deps.resolution, { project_id: ref.projectId, function_urn: urn })
      }
      const saved = await store.asyncConfigs.put(latest.id, qualifier, input)
      return configView(saved, urnOf(config.region, ref, qualifier))
    },
  )

  app.get<{ Params: Params }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-invoke-config',
    async (request) => {
      const { latest, ref } = await resolveFunction(deps.resolution, request.params)
      const qualifier = qualifierOf(ref)
      const found = await store.asyncConfigs.get(latest.id, qualifier)
      if (found === undefined) {
        throw new StratoError(
          'ASYNC_CONFIG_NOT_FOUND',
          `The function has no async invoke config for '${qualifier}'.`,
        )
      }
      return configView(found, urnOf(config.region, ref, qualifier))
    },
  )

  app.delete<{ Params: Params }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-invoke-config',
    async (request, reply) => {
      const { latest, ref } = await resolveFunction(deps.resolution, request.params)
      await store.asyncConfigs.delete(latest.id, qualifierOf(ref))
      return reply.code(204).send()
    },
  )

  app.get<{ Params: Params; Querystring: { marker?: string; limit?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-invoke-configs',
    async (request) => {
      const { latest, ref } = await resolveFunction(deps.resolution, request.params)
      const { marker, size: limit } = parsePageQuery(request.query, {
        size: 'limit',
        fallback: 10,
        max: 100,
      })
      const all = await store.asyncConfigs.listOf(latest.id)
      const page = all.slice(marker, marker + limit)
      return {
        async_invoke_configs: page.map((c) =>
          configView(c, urnOf(config.region, ref, c.qualifier)),
        ),
        count: all.length,
        page_info: {
          next_marker: marker + page.length,
          previous_marker: Math.max(0, marker - limit),
          current_count: page.length,
        },
      }
    },
  )

  const listRecords = async (
    params: Params,
    query: RecordQuery,
    only: readonly AsyncStatus[] | undefined,
  ): Promise<Record<string, unknown>> => {
    const { latest } = await resolveFunction(deps.resolution, params)
    const { marker, size: limit } = parsePageQuery(query, RECORDS_PAGE)
    let statuses = only
    if (query.status !== undefined && query.status !== '') {
      const s = query.status
      if (!(ASYNC_STATUSES as readonly string[]).includes(s)) {
        throw new StratoError(
          'INVALID_QUERY',
          `'status' must be one of ${ASYNC_STATUSES.join(', ')}.`,
        )
      }
      statuses = only === undefined || only.includes(s as AsyncStatus) ? [s as AsyncStatus] : []
    }
    let fromMs = timeQuery(query.query_begin_time, 'query_begin_time')
    const toMs = timeQuery(query.query_end_time, 'query_end_time')
    const requestId = query.request_id === '' ? undefined : query.request_id
    if (fromMs === undefined && toMs === undefined && requestId === undefined) {
      fromMs = Date.now() - DEFAULT_WINDOW_MS
    }
    const { records, total } =
      statuses !== undefined && statuses.length === 0
        ? { records: [], total: 0 }
        : await asyncRecords.list({
            functionId: latest.id,
            requestId,
            statuses,
            fromMs,
            toMs,
            offset: marker,
            limit,
          })
    return {
      invocations: records.map(recordView),
      count: total,
      next_marker: marker + records.length,
    }
  }

  app.get<{ Params: Params; Querystring: RecordQuery }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-invocations',
    (request) => listRecords(request.params, request.query, undefined),
  )

  app.get<{ Params: Params; Querystring: RecordQuery & { requests?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/active-async-invocations',
    (request) =>
      listRecords(
        request.params,
        { ...request.query, request_id: request.query.request_id ?? request.query.requests },
        ['WAIT', 'RUNNING'],
      ),
  )

  app.post<{ Params: Params }>(
    '/v2/:project_id/fgs/functions/:function_urn/cancel',
    async (request, reply) => {
      const { latest } = await resolveFunction(deps.resolution, request.params)
      const body = asBody(request.body)
      const requestId = body.request_id
      if (typeof requestId !== 'string' || requestId === '') {
        throw new StratoError('INVALID_REQUEST_ID', "Invalid RequestId: 'request_id' is required.")
      }
      const found = await asyncRecords.cancel(latest.id, requestId, Date.now())
      if (found === undefined) {
        throw new StratoError('INVALID_REQUEST_ID')
      }
      if (found !== 'WAIT') {
        throw new StratoError(
          'INVALID_REQUEST_ID',
          `Invalid RequestId: the async invocation '${requestId}' is ${found}; only a waiting one can be canceled.`,
        )
      }
      if (store.logSettings.asyncStatusLogEnabled(latest.projectId)) {
        // A cancel ends the event outside the queue: the project's async status stream hears of
        // it here (ADR 0020).
        const { records } = await asyncRecords.list({
          functionId: latest.id,
          requestId,
          offset: 0,
          limit: 1,
        })
        store.logs.appendAsyncStatus({
          projectId: latest.projectId,
          functionId: latest.id,
          functionUrn: request.params.function_urn,
          requestId,
          status: 'FAIL',
          attempts: records[0]?.attempts ?? 0,
          atMs: records[0]?.endedAtMs ?? Date.now(),
          errorCode: records[0]?.errorCode ?? 4208,
          message: records[0]?.errorMessage ?? 'function invocation canceled',
        })
      }
      // The reference documents a `null` body, but the SDK then fails setting `httpStatusCode` on
      // it (ServiceResponseException); an empty object is what the SDK can read.
      return reply.code(200).send({})
    },
  )

  app.get<{ Params: Params; Querystring: { marker?: string; limit?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/async-dead-letters',
    async (request) => {
      const { latest } = await resolveFunction(deps.resolution, request.params)
      const { marker, size: limit } = parsePageQuery(request.query, RECORDS_PAGE)
      const { entries, total } = await asyncRecords.deadLetters(latest.id, marker, limit)
      return {
        dead_letters: entries.map((e) => ({
          request_id: e.requestId,
          created_time: recordTime(e.createdAtMs),
          record: JSON.parse(e.record) as unknown,
        })),
        count: total,
        next_marker: marker + entries.length,
      }
    },
  )
}

/** `POST …/invocations-async`: registered in the raw-body plugin, like the sync route. */
export function registerAsyncInvokeRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: Params; Body: Buffer }>(
    '/v2/:project_id/fgs/functions/:function_urn/invocations-async',
    { bodyLimit: Limits.ASYNC_PAYLOAD_MAX_BYTES },
    async (request, reply) => {
      const { fn, latest, ref } = await resolveFunction(deps.resolution, request.params)
      if (fn.maxInstances === 0) {
        throw new StratoError('FUNCTION_DISABLED')
      }
      const payload = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      if (payload.length > 0) {
        // Checked now: an event no attempt could parse is refused, not retried for an hour.
        try {
          JSON.parse(payload.toString('utf8'))
        } catch {
          throw new StratoError('INVALID_EVENT')
        }
      }
      const qualifier = qualifierOf(ref)
      const requestId = request.id
      const caller =
        typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined
      const accept = await deps.tracing?.accept({
        functionId: latest.id,
        functionName: fn.name,
        requestId,
        traceparent: caller,
      })
      const traceparent = accept?.traceparent ?? caller
      try {
        // Resolves once the group commit that holds this event is done: only then the 202.
        await acceptAsyncEvent(
          deps.asyncQueue,
          {
            projectId: latest.projectId,
            functionId: latest.id,
            functionUrn: urnOf(deps.config.region, ref, qualifier),
            qualifier,
          },
          {
            requestId,
            payload,
            timeoutS: fn.timeoutS,
            ...(traceparent === undefined ? {} : { traceparent }),
          },
        )
      } catch (err) {
        accept?.end(err)
        throw err
      }
      accept?.end()
      return reply
        .code(202)
        .header('x-request-id', request.id)
        .header('x-cff-request-id', requestId)
        .header('content-type', 'application/json')
        .send({ request_id: requestId })
    },
  )
}
