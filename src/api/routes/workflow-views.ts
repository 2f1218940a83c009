/**
 * @module How workflows and executions look on the wire (functiongraph-api.md §8.1, Appendix A:
 * WorkflowSimpleInfo, ShowWorkFlowResponse, FlowExecutionBrief(V2), ShowWorkflowExecutionResponse),
 * the parsers of the workflow API's query parameters (offset/limit paging, time bounds), and the
 * lookups both route files share.
 */
import type { FastifyRequest } from 'fastify'
import {
  StratoError,
  type ExecutionRecord,
  type ExecutionStatus,
  type WorkflowRecord,
} from '../../core/index.js'
import type { JsonValue } from '../../flows/index.js'
import type { ApiDeps } from '../deps.js'

export interface ProjectParams {
  readonly project_id: string
}

export interface WorkflowParams extends ProjectParams {
  readonly workflow_id: string
}

/** Who made the call, as `created_by` shows it. */
export function callerOf(request: FastifyRequest): string {
  return request.principal?.accessKey ?? ''
}

/** The project's workflow with this id, or 404 FGS.5002. */
export async function existingWorkflow(
  deps: ApiDeps,
  projectId: string,
  id: string,
): Promise<WorkflowRecord> {
  const w = await deps.store.flows.getWorkflow(projectId, id)
  if (w === undefined) {
    throw new StratoError('FLOW_NOT_FOUND', `Function flow not found: '${id}'.`)
  }
  return w
}

/** Workflow times: `2021-01-01T00:00:00Z` (seconds, UTC). */
export function flowTime(at: Date | number | undefined): string {
  if (at === undefined) {
    return ''
  }
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function parseJsonText(text: string | undefined): JsonValue | undefined {
  if (text === undefined || text === '') {
    return undefined
  }
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

/** `WorkflowSimpleInfo` (create, update and list answer it); `mode` is extra. */
export function workflowSimpleInfo(w: WorkflowRecord): Record<string, unknown> {
  return {
    id: w.id,
    workflow_urn: w.urn,
    name: w.name,
    description: w.description,
    mode: w.mode,
    enable_stream_response: w.enableStreamResponse,
    created_time: flowTime(w.createdAt),
    updated_time: flowTime(w.updatedAt),
    created_by: w.createdBy,
  }
}

/** `ShowWorkFlowResponse`: `definition` is the body as the user sent it. */
export function workflowView(w: WorkflowRecord): Record<string, unknown> {
  return {
    id: w.id,
    workflow_urn: w.urn,
    name: w.name,
    description: w.description,
    mode: w.mode,
    language: w.language,
    created_time: flowTime(w.createdAt),
    updated_time: flowTime(w.updatedAt),
    created_by: w.createdBy,
    lts_group_id: '',
    lts_stream_id: '',
    definition: parseJsonText(w.definitionJson),
  }
}

/** `FlowExecutionBrief` / `FlowExecutionBriefV2` (list and paged history). */
export function executionBrief(e: ExecutionRecord): Record<string, unknown> {
  return {
    workflow_id: e.workflowId,
    workflow_urn: e.workflowUrn,
    execution_id: e.id,
    status: e.status,
    begin_time: flowTime(e.beginAt),
    end_time: flowTime(e.endAt),
    last_update_time: flowTime(e.updatedAt),
    created_by: e.createdBy,
  }
}

/** `ShowWorkflowExecutionResponse` without its node details; `error` is extra (failed runs). */
export function executionView(e: ExecutionRecord): Record<string, unknown> {
  return {
    ...executionBrief(e),
    input: parseJsonText(e.inputJson),
    output: parseJsonText(e.outputJson),
    headers: parseJsonText(e.headersJson) ?? {},
    redrive_count: e.redriveCount,
    ...(e.error === undefined
      ? {}
      : {
          error: {
            error: e.error.error,
            cause: e.error.cause ?? '',
            node_id: e.error.nodeId ?? '',
          },
        }),
  }
}

const STATUSES: readonly ExecutionStatus[] = ['running', 'success', 'fail', 'timeout', 'cancel']

/** An execution status filter, or undefined when left out. */
export function parseStatus(raw: unknown): ExecutionStatus | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  const found = STATUSES.find((s) => s === raw)
  if (found === undefined) {
    throw new StratoError(
      'FLOW_INVALID_DEFINITION',
      `Invalid query parameter 'status': it must be one of ${STATUSES.join(', ')}.`,
    )
  }
  return found
}

/** A decimal integer query parameter from `min` to `max`, `fallback` when left out. */
export function integerQuery(
  raw: unknown,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (raw === undefined || raw === '') {
    return fallback
  }
  const value = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN
  if (!(value >= min && value <= max)) {
    throw new StratoError(
      'FLOW_INVALID_DEFINITION',
      `Invalid query parameter '${name}': it must be an integer from ${min} to ${max}.`,
    )
  }
  return value
}

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?$/

/**
 * A time bound: Huawei's `YYYY-MM-DD hh:mm:ss` (UTC), an ISO-8601 time, or epoch milliseconds.
 * Undefined when left out.
 */
export function parseTimeQuery(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (typeof raw === 'string') {
    if (/^\d{1,16}$/.test(raw)) {
      return Number(raw)
    }
    const m = WALL_TIME.exec(raw)
    if (m !== null) {
      const at = Date.UTC(
        Number(m[1]),
        Number(m[2]) - 1,
        Number(m[3]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6]),
      )
      if (Number.isFinite(at)) {
        return at
      }
    }
  }
  throw new StratoError(
    'FLOW_INVALID_DEFINITION',
    `Invalid query parameter '${name}': use 'YYYY-MM-DD hh:mm:ss' (UTC) or epoch milliseconds.`,
  )
}
