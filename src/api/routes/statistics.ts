/**
 * @module FunctionGraph's statistics methods (reference §4.6): `listFunctionStatistics`
 * (`statistics/{period}`), `showFunctionMetrics` (`slareports/{period}`), `listStatistics`
 * (`monitor_data` series and the `monthly_report` of usage) and `listFunctionAsMetric` (functions
 * ranked by a metric). `period` is minutes back from now; series have at most 60 points.
 */
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import {
  RANKING_TYPES,
  type RankingType,
  type StatisticsSeries,
} from '../../observability/index.js'
import type { ApiDeps, MetricsDeps } from '../deps.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

const MINUTE_MS = 60_000
/** Minute buckets are kept 24 h, hours 7 days: a longer period has nothing more to show. */
const MAX_PERIOD_MINUTES = 7 * 24 * 60
const MAX_POINTS = 60

/** `[from, to)` ending with the current minute, and the step that keeps it within 60 points. */
export function windowOf(
  periodText: string | undefined,
  nowMs: number,
  fallbackMinutes = 60,
): { fromMs: number; toMs: number; stepMinutes: number } {
  const period =
    periodText === undefined || periodText === '' ? fallbackMinutes : Number(periodText)
  if (!Number.isInteger(period) || period < 1 || period > MAX_PERIOD_MINUTES) {
    throw new StratoError(
      'INVALID_PARAMETER',
      `period must be a whole number of minutes from 1 to ${MAX_PERIOD_MINUTES}.`,
    )
  }
  const toMs = (Math.floor(nowMs / MINUTE_MS) + 1) * MINUTE_MS
  const stepMinutes = Math.ceil(period / MAX_POINTS)
  const slots = Math.ceil(period / stepMinutes)
  return { fromMs: toMs - slots * stepMinutes * MINUTE_MS, toMs, stepMinutes }
}

function withoutInstances(s: StatisticsSeries): Partial<StatisticsSeries> {
  const rest: Partial<StatisticsSeries> = { ...s }
  delete rest.instance_num
  return rest
}

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7)
}

interface PeriodParams extends FunctionPathParams {
  readonly period: string
}

export function registerStatisticsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const metrics = deps.metrics
  if (metrics === undefined) {
    return
  }
  const seriesOf = async (params: PeriodParams): Promise<StatisticsSeries> => {
    const { latest: fn } = await resolveFunction(deps.resolution, params)
    const w = windowOf(params.period, Date.now())
    return metrics.functions.series(fn.projectId, fn.id, w.fromMs, w.toMs, w.stepMinutes)
  }

  app.get<{ Params: PeriodParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/statistics/:period',
    async (request) => withoutInstances(await seriesOf(request.params)),
  )

  app.get<{ Params: PeriodParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/slareports/:period',
    async (request) => seriesOf(request.params),
  )

  app.get<{
    Params: { project_id: string }
    Querystring: { filter?: string; period?: string; option?: string }
  }>('/v2/:project_id/fgs/functions/statistics', async (request) => {
    const projectId = request.params.project_id
    const { filter } = request.query
    if (filter !== 'monitor_data' && filter !== 'monthly_report') {
      throw new StratoError('INVALID_PARAMETER', 'filter must be monitor_data or monthly_report.')
    }
    const months = await monthlyUsage(metrics, projectId, Date.now())
    const report = {
      count: months.map((m) => ({ date: m.month, value: m.requests })),
      gbs: months.map((m) => ({ date: m.month, value: Math.round(m.gbSeconds * 1e6) / 1e6 })),
      gpu_gbs: months.map((m) => ({ date: m.month, value: 0 })),
    }
    if (filter === 'monthly_report') {
      return report
    }
    const w = windowOf(request.query.period, Date.now())
    const series = metrics.functions.series(projectId, undefined, w.fromMs, w.toMs, w.stepMinutes)
    return { ...report, statistics: withoutInstances(series) }
  })

  app.get<{
    Params: { project_id: string }
    Querystring: { type?: string; start_time?: string; end_time?: string; limit?: string }
  }>('/v2/:project_id/fgs/function/report', (request) => {
    const q = request.query
    const type = (q.type === undefined || q.type === '' ? 'count' : q.type) as RankingType
    if (!RANKING_TYPES.includes(type)) {
      throw new StratoError('INVALID_PARAMETER', `type must be one of ${RANKING_TYPES.join(', ')}.`)
    }
    const now = Date.now()
    const toMs = q.end_time === undefined ? now : Number(q.end_time)
    const fromMs = q.start_time === undefined ? toMs - 60 * MINUTE_MS : Number(q.start_time)
    const limit = q.limit === undefined ? 10 : Number(q.limit)
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
      throw new StratoError(
        'INVALID_PARAMETER',
        'start_time and end_time are ms since the epoch, start_time first.',
      )
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new StratoError('INVALID_PARAMETER', 'limit must be from 1 to 500.')
    }
    const ranked = metrics.functions.ranking(request.params.project_id, type, fromMs, toMs)
    return { values: ranked.slice(0, limit), next_marker: 0, count: ranked.length }
  })

  // Strato extension (`strato usage`): the durable hourly rows behind the monthly report.
  app.get<{
    Params: { project_id: string }
    Querystring: { start_time?: string; end_time?: string }
  }>('/v2/:project_id/fgs/usage', async (request) => {
    const q = request.query
    const toMs = q.end_time === undefined ? Date.now() + 1 : Number(q.end_time)
    const fromMs = q.start_time === undefined ? toMs - 24 * 3_600_000 : Number(q.start_time)
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs > toMs) {
      throw new StratoError(
        'INVALID_PARAMETER',
        'start_time and end_time are ms since the epoch, start_time first.',
      )
    }
    await metrics.functions.flushUsage()
    // An hour is shown when it overlaps the range.
    const rows = await metrics.usage.list({
      projectId: request.params.project_id,
      fromMs: fromMs - (fromMs % 3_600_000),
      toMs,
    })
    return {
      usage: rows.map((r) => ({
        function_id: r.functionId,
        function_name: r.functionName,
        hour: new Date(r.hourStartMs).toISOString(),
        requests: r.requests,
        gb_seconds: Math.round(r.gbSeconds * 1e6) / 1e6,
      })),
    }
  })
}

/** The last 12 months' usage of a project, oldest first, months without any left out. */
async function monthlyUsage(
  metrics: MetricsDeps,
  projectId: string,
  nowMs: number,
): Promise<Array<{ month: string; requests: number; gbSeconds: number }>> {
  // What ran since the last periodic write is written first: the report is exact.
  await metrics.functions.flushUsage()
  const now = new Date(nowMs)
  const fromMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)
  const rows = await metrics.usage.list({ projectId, fromMs, toMs: nowMs + 3_600_000 })
  const byMonth = new Map<string, { month: string; requests: number; gbSeconds: number }>()
  for (const r of rows) {
    const month = monthOf(r.hourStartMs)
    const m = byMonth.get(month) ?? { month, requests: 0, gbSeconds: 0 }
    m.requests += r.requests
    m.gbSeconds += r.gbSeconds
    byMonth.set(month, m)
  }
  return [...byMonth.values()]
}
