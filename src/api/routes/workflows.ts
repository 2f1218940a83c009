/**
 * @module Function flows (workflows), management side (functiongraph-api.md §8.1): create, list,
 * show, update and batch delete, and the tenant and per-workflow statistics. Executions are in
 * `workflow-executions.ts`.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { StratoError, type FlowMode, type WorkflowRecord } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { compileWorkflowBody } from './workflow-definition.js'
import {
  callerOf,
  existingWorkflow,
  integerQuery,
  parseTimeQuery,
  workflowSimpleInfo,
  workflowView,
  type ProjectParams,
  type WorkflowParams,
} from './workflow-views.js'

/** Flows per project (Huawei's default quota, `fgs_workflow_num`). */
export const WORKFLOWS_PER_PROJECT = 200
/** The most a list page holds (and its size when `limit` is left out). */
const LIST_MAX = 200
/** A batch delete names at most this many flows. */
const DELETE_MAX = 100

export function workflowUrn(region: string, projectId: string, name: string): string {
  return `urn:fss:${region}:${projectId}:workflow:default:${name}:latest`
}

function parseMode(raw: unknown): FlowMode | undefined {
  if (raw === undefined || raw === '') {
    return undefined
  }
  if (raw === 'NORMAL' || raw === 'EXPRESS') {
    return raw
  }
  throw new StratoError(
    'FLOW_INVALID_DEFINITION',
    "Invalid query parameter 'mode': it must be NORMAL or EXPRESS.",
  )
}

const MINUTE_MS = 60_000
const MAX_POINTS = 60

/**
 * The statistics window: `start_time`..`end_time` when given, else the last `period` minutes
 * (60 by default, at most 7 days), cut into at most 60 equal steps.
 */
function statisticsWindow(
  query: StatisticsQuery,
  now: number,
): { from: number; to: number; step: number } {
  const end = parseTimeQuery(query.end_time, 'end_time') ?? now
  const period = integerQuery(query.period, 'period', 1, 7 * 24 * 60, 60)
  const start = parseTimeQuery(query.start_time, 'start_time') ?? end - period * MINUTE_MS
  if (!(start < end)) {
    throw new StratoError('FLOW_INVALID_DEFINITION', "'start_time' must be before 'end_time'.")
  }
  const step = Math.max(MINUTE_MS, Math.ceil((end - start) / MAX_POINTS / MINUTE_MS) * MINUTE_MS)
  return { from: end - Math.ceil((end - start) / step) * step, to: end, step }
}

interface StatisticsQuery {
  readonly period?: string
  readonly start_time?: string
  readonly end_time?: string
  readonly metric_type?: string
}

interface Point {
  readonly timestamp: number
  readonly value: number
}

/** `ShowTenantMetricResponse` / `ShowWorkFlowMetricResponse`: one series per figure. */
async function statisticsSeries(
  deps: ApiDeps,
  projectId: string,
  workflowId: string | undefined,
  query: StatisticsQuery,
): Promise<Record<string, Point[]>> {
  const w = statisticsWindow(query, Date.now())
  const count: Point[] = []
  const duration: Point[] = []
  const fail: Point[] = []
  const running: Point[] = []
  for (let t = w.from; t < w.to; t += w.step) {
    const s = await deps.store.flows.statistics(projectId, workflowId, t, t + w.step)
    count.push({ timestamp: t, value: s.count })
    duration.push({ timestamp: t, value: Math.round(s.durationMs) })
    fail.push({ timestamp: t, value: s.failCount })
    running.push({ timestamp: t, value: s.runningCount })
  }
  const series: Record<string, Point[]> = {
    count,
    duration,
    fail_count: fail,
    running_count: running,
  }
  const only = query.metric_type
  if (only !== undefined && only !== '') {
    const picked = series[only]
    if (picked === undefined) {
      throw new StratoError(
        'FLOW_INVALID_DEFINITION',
        `Invalid query parameter 'metric_type': it must be one of ${Object.keys(series).join(', ')}.`,
      )
    }
    return { [only]: picked }
  }
  return series
}

export function registerWorkflowRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const region = deps.config.region

  app.post<{ Params: ProjectParams }>('/v2/:project_id/fgs/workflows', async (request, reply) => {
    const projectId = request.params.project_id
    const def = await compileWorkflowBody(request.body, projectId, deps.resolution)
    const used = await store.flows.countWorkflows(projectId)
    if (used >= WORKFLOWS_PER_PROJECT) {
      throw new StratoError(
        'FLOW_QUOTA_EXCEEDED',
        `The project has ${used} workflows; the quota (fgs_workflow_num) is ${WORKFLOWS_PER_PROJECT}.`,
      )
    }
    const urn = workflowUrn(region, projectId, def.name)
    await assertNameFree(deps, projectId, urn, def.name)
    const now = new Date()
    const record: WorkflowRecord = {
      ...def,
      id: randomUUID(),
      projectId,
      urn,
      createdBy: callerOf(request),
      createdAt: now,
      updatedAt: now,
    }
    await store.flows.createWorkflow(record)
    return reply.code(201).send(workflowSimpleInfo(record))
  })

  app.get<{
    Params: ProjectParams
    Querystring: { workflow_name?: string; limit?: string; offset?: string; mode?: string }
  }>('/v2/:project_id/fgs/workflows', async (request) => {
    const q = request.query
    const limit = integerQuery(q.limit, 'limit', 1, LIST_MAX, LIST_MAX)
    const { workflows, total } = await store.flows.listWorkflows({
      projectId: request.params.project_id,
      ...(q.workflow_name === undefined || q.workflow_name === '' ? {} : { name: q.workflow_name }),
      ...(parseMode(q.mode) === undefined ? {} : { mode: parseMode(q.mode) }),
      offset: integerQuery(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
      limit,
    })
    return { workflows: workflows.map(workflowSimpleInfo), total, size: workflows.length }
  })

  app.get<{ Params: WorkflowParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id',
    async (request) =>
      workflowView(
        await existingWorkflow(deps, request.params.project_id, request.params.workflow_id),
      ),
  )

  app.put<{ Params: WorkflowParams }>(
    '/v2/:project_id/fgs/workflows/:workflow_id',
    async (request) => {
      const projectId = request.params.project_id
      const current = await existingWorkflow(deps, projectId, request.params.workflow_id)
      const def = await compileWorkflowBody(request.body, projectId, deps.resolution)
      const urn = workflowUrn(region, projectId, def.name)
      if (urn !== current.urn) {
        await assertNameFree(deps, projectId, urn, def.name, current.id)
      }
      const updated: WorkflowRecord = {
        ...current,
        ...def,
        urn,
        updatedAt: new Date(),
      }
      await store.flows.updateWorkflow(updated)
      return workflowSimpleInfo(updated)
    },
  )

  app.delete<{ Params: ProjectParams }>('/v2/:project_id/fgs/workflows', async (request) => {
    const projectId = request.params.project_id
    const body = request.body as { workflow_urns?: unknown } | undefined
    const urns = body?.workflow_urns
    if (
      !Array.isArray(urns) ||
      urns.length === 0 ||
      urns.length > DELETE_MAX ||
      !urns.every((u): u is string => typeof u === 'string')
    ) {
      throw new StratoError(
        'FLOW_INVALID_DEFINITION',
        `'workflow_urns' must list 1 to ${DELETE_MAX} workflow URNs.`,
      )
    }
    const success: string[] = []
    const fail: { workflow_urn: string; error_detail: string }[] = []
    for (const urn of urns) {
      const w = await store.flows.getWorkflowByUrn(projectId, urn)
      if (w === undefined) {
        fail.push({ workflow_urn: urn, error_detail: 'Function flow not found.' })
        continue
      }
      await stopRunningExecutions(deps, w)
      if (await store.flows.deleteWorkflow(projectId, w.id)) {
        success.push(urn)
      } else {
        fail.push({ workflow_urn: urn, error_detail: 'Function flow not found.' })
      }
    }
    return { success, fail }
  })

  app.get<{ Params: ProjectParams; Querystring: StatisticsQuery }>(
    '/v2/:project_id/fgs/workflow-statistic',
    async (request) => statisticsSeries(deps, request.params.project_id, undefined, request.query),
  )

  app.get<{ Params: ProjectParams & { workflow_urn: string }; Querystring: StatisticsQuery }>(
    '/v2/:project_id/fgs/workflow-statistic/:workflow_urn',
    async (request) => {
      const projectId = request.params.project_id
      const w = await store.flows.getWorkflowByUrn(projectId, request.params.workflow_urn)
      if (w === undefined) {
        throw new StratoError(
          'FLOW_NOT_FOUND',
          `Function flow not found: '${request.params.workflow_urn}'.`,
        )
      }
      return statisticsSeries(deps, projectId, w.id, request.query)
    },
  )
}

/** A deleted flow's runs are stopped first: nothing keeps driving what is no longer there. */
/** Throws FLOW_NAME_EXISTS when a workflow (other than `exceptId`) of the project has `urn`. */
async function assertNameFree(
  deps: ApiDeps,
  projectId: string,
  urn: string,
  name: string,
  exceptId?: string,
): Promise<void> {
  const clash = await deps.store.flows.getWorkflowByUrn(projectId, urn)
  if (clash !== undefined && clash.id !== exceptId) {
    throw new StratoError('FLOW_NAME_EXISTS', `A workflow named '${name}' already exists.`)
  }
}

async function stopRunningExecutions(deps: ApiDeps, w: WorkflowRecord): Promise<void> {
  const { executions } = await deps.store.flows.listExecutions({
    workflowId: w.id,
    status: 'running',
    offset: 0,
    limit: 10_000,
  })
  for (const e of executions) {
    try {
      await deps.flowEngine.stop(e)
    } catch (err) {
      // It ended meanwhile: nothing left to stop.
      if (!(err instanceof StratoError && err.code === 'FLOW_INVALID_EXECUTION')) {
        throw err
      }
    }
  }
}
