/**
 * @module Function-flow executions (functiongraph-api.md §8.1): start (async, or sync for EXPRESS
 * flows), list, the paged history, show with per-node details, retry, stop and callback. The
 * engine (`deps.flowEngine`) runs them; the store's history is what show reads.
 */
import type { FastifyInstance } from 'fastify'
import { StratoError, type ExecutionRecord, type WorkflowRecord } from '../../core/index.js'
import {
  NODE_DATA_MAX_CHARS,
  nodeExecutionDetails,
  type CallbackResult,
  type JsonValue,
  type StartOptions,
} from '../../flows/index.js'
import type { ApiDeps } from '../deps.js'
import {
  callerOf,
  existingWorkflow,
  type WorkflowParams,
  executionBrief,
  executionView,
  flowTime,
  integerQuery,
  parseStatus,
  parseTimeQuery,
} from './workflow-views.js'

interface ExecutionParams extends WorkflowParams {
  readonly execution_id: string
}

/** The list's default window: executions that began in the last 3 days. */
const LIST_DEFAULT_WINDOW_MS = 3 * 24 * 3600_000
const LIST_MAX = 200
const HISTORY_MAX = 100
/** A caller-chosen run id (`X-WorkflowRun-ID`). */
const RUN_ID = /^[A-Za-z0-9_.-]{1,64}$/

function headerOf(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** `FlowExecuteBody`: `input` (an object; left out = `{}`) and `headers` (string values). */
function parseExecuteBody(body: unknown): { input: JsonValue; headers: Record<string, string> } {
  if (body === undefined || body === null) {
    return { input: {}, headers: {} }
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new StratoError('FLOW_INVALID_DEFINITION', 'The request body must be a JSON object.')
  }
  const { input, headers } = body as { input?: unknown; headers?: unknown }
  if (
    input !== undefined &&
    (input === null || typeof input !== 'object' || Array.isArray(input))
  ) {
    throw new StratoError('FLOW_INVALID_DEFINITION', "'input' must be a JSON object.")
  }
  const parsedHeaders: Record<string, string> = {}
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) {
      throw new StratoError('FLOW_INVALID_DEFINITION', "'headers' must be a JSON object.")
    }
    for (const [k, v] of Object.entries(headers)) {
      parsedHeaders[k] = typeof v === 'string' ? v : JSON.stringify(v)
    }
  }
  return { input: (input ?? {}) as JsonValue, headers: parsedHeaders }
}

function startOptions(
  headers: Record<string, string | string[] | undefined>,
  bodyHeaders: Record<string, string>,
  createdBy: string,
): StartOptions {
  const runId = headerOf(headers, 'x-workflowrun-id')
  if (runId !== undefined && runId !== '' && !RUN_ID.test(runId)) {
    throw new StratoError(
      'FLOW_INVALID_DEFINITION',
      "'X-WorkflowRun-ID' must be 1 to 64 letters, digits, '_', '-' or '.'.",
    )
  }
  return {
    ...(runId === undefined || runId === '' ? {} : { executionId: runId }),
    headers: bodyHeaders,
    createdBy,
  }
}

/** The execution `id` of workflow `w`, or 404 FGS.5003. */
async function existingExecution(
  deps: ApiDeps,
  w: WorkflowRecord,
  id: string,
): Promise<ExecutionRecord> {
  const e = await deps.store.flows.getExecution(id)
  if (e === undefined || e.workflowId !== w.id || e.projectId !== w.projectId) {
    throw new StratoError('FLOW_EXECUTION_NOT_FOUND', `The workflow has no execution '${id}'.`)
  }
  return e
}

function parseCallbackBody(body: unknown): CallbackResult {
  const b = (body ?? {}) as { result?: unknown; output?: unknown; error?: unknown }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new StratoError('FLOW_INVALID_DEFINITION', 'The request body must be a JSON object.')
  }
  const output = b.output === undefined ? undefined : (b.output as JsonValue)
  if (b.result === 'success') {
    return { result: 'success', output: output ?? {} }
  }
  if (b.result === 'fail') {
    const error =
      b.error === undefined || b.error === null
        ? 'CallbackFailed'
        : typeof b.error === 'string'
          ? b.error
          : JSON.stringify(b.error)
    return output === undefined ? { result: 'fail', error } : { result: 'fail', error, output }
  }
  throw new StratoError('FLOW_INVALID_DEFINITION', "'result' must be 'success' or 'fail'.")
}

export function registerWorkflowExecutionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const engine = deps.flowEngine
  const workflowOf = (p: WorkflowParams): Promise<WorkflowRecord> =>
    existingWorkflow(deps, p.project_id, p.workflow_id)

  app.post<{ Params: WorkflowParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/executions',
    async (request) => {
      const w = await workflowOf(request.params)
      const { input, headers } = parseExecuteBody(request.body)
      const started = await engine.start(
        w,
        input,
        startOptions(request.headers, headers, callerOf(request)),
      )
      return { execution_id: started.executionId }
    },
  )

  app.post<{ Params: WorkflowParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/sync-executions',
    async (request) => {
      const w = await workflowOf(request.params)
      if (w.mode !== 'EXPRESS') {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `Only EXPRESS workflows start synchronously; '${w.name}' is ${w.mode}.`,
        )
      }
      const { input, headers } = parseExecuteBody(request.body)
      const r = await engine.startSync(
        w,
        input,
        startOptions(request.headers, headers, callerOf(request)),
      )
      return {
        execution_id: r.executionId,
        status: r.status,
        ...(r.output === undefined ? {} : { output: r.output }),
        errors: r.errors.map((e) => ({
          node_id: e.nodeId,
          error_message: e.errorMessage,
          begin_time: flowTime(e.beginAt),
          end_time: flowTime(e.endAt),
        })),
        begin_time: flowTime(r.beginAt),
        end_time: flowTime(r.endAt),
      }
    },
  )

  app.get<{
    Params: WorkflowParams
    Querystring: {
      limit?: string
      offset?: string
      status?: string
      start_time?: string
      end_time?: string
    }
  }>('/v2/:project_id/fgs/workflows/:workflow_id/executions', async (request) => {
    const w = await workflowOf(request.params)
    const q = request.query
    const to = parseTimeQuery(q.end_time, 'end_time')
    const from =
      parseTimeQuery(q.start_time, 'start_time') ?? (to ?? Date.now()) - LIST_DEFAULT_WINDOW_MS
    const status = parseStatus(q.status)
    const { executions, total } = await store.flows.listExecutions({
      workflowId: w.id,
      ...(status === undefined ? {} : { status }),
      from,
      ...(to === undefined ? {} : { to }),
      offset: integerQuery(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
      limit: integerQuery(q.limit, 'limit', 1, LIST_MAX, LIST_MAX),
    })
    return { executions: executions.map(executionBrief), total, size: executions.length }
  })

  app.get<{
    Params: WorkflowParams
    Querystring: { limit?: string; offset?: string; start_time?: string; end_time?: string }
  }>('/v2/:project_id/fgs/workflows/:workflow_id/executions-history', async (request) => {
    const w = await workflowOf(request.params)
    const q = request.query
    const from = parseTimeQuery(q.start_time, 'start_time')
    const to = parseTimeQuery(q.end_time, 'end_time')
    const { executions, total } = await store.flows.listExecutions({
      workflowId: w.id,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      offset: integerQuery(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
      limit: integerQuery(q.limit, 'limit', 1, HISTORY_MAX, 10),
    })
    return { total, size: executions.length, executions: executions.map(executionBrief) }
  })

  app.get<{ Params: ExecutionParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/executions/:execution_id',
    async (request) => {
      const w = await workflowOf(request.params)
      const e = await existingExecution(deps, w, request.params.execution_id)
      const full = headerOf(request.headers, 'x-get-workflow-full-history-data') === 'true'
      const events = await store.flows.events(e.id)
      return {
        ...executionView(e),
        node_execution_details: nodeExecutionDetails(e.id, events, {
          executionStatus: e.status,
          ...(full ? {} : { maxDataChars: NODE_DATA_MAX_CHARS }),
        }),
      }
    },
  )

  app.post<{ Params: ExecutionParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/executions/:execution_id/retry',
    async (request) => {
      const w = await workflowOf(request.params)
      const e = await existingExecution(deps, w, request.params.execution_id)
      if (e.status !== 'fail' && e.status !== 'timeout') {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `Only a failed or timed-out execution can be retried; '${e.id}' is ${e.status}.`,
        )
      }
      await engine.retry(e)
      return {}
    },
  )

  app.post<{ Params: ExecutionParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/executions/:execution_id/terminate',
    async (request) => {
      const w = await workflowOf(request.params)
      const e = await existingExecution(deps, w, request.params.execution_id)
      if (e.status !== 'running') {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `Only a running execution can be stopped; '${e.id}' is ${e.status}.`,
        )
      }
      await engine.stop(e)
      return {}
    },
  )

  app.post<{ Params: WorkflowParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id/callback',
    async (request) => {
      const w = await workflowOf(request.params)
      const runId = headerOf(request.headers, 'x-workflow-run-id')
      const stateId = headerOf(request.headers, 'x-workflow-state-id')
      if (runId === undefined || runId === '' || stateId === undefined || stateId === '') {
        throw new StratoError(
          'FLOW_INVALID_DEFINITION',
          "A callback needs the headers 'X-Workflow-Run-Id' and 'X-Workflow-State-Id'.",
        )
      }
      const result = parseCallbackBody(request.body)
      const e = await existingExecution(deps, w, runId)
      await engine.callback(e, stateId, result)
      return { execution_id: e.id }
    },
  )
}
