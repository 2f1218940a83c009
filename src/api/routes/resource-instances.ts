/**
 * @module `POST /v2/{project}/{resource_type}/resource-instances/{filter|count}`
 * (showResInstanceInfo): the project's functions queried by their tags, as Huawei Cloud's tag
 * service queries resources. `tags` (`[{key, values}]`: every key must be present, with one of its
 * values when any are given), `without_any_tag`, `matches` (`resource_name` contains the value),
 * `sys_tags` (only the default enterprise project `0` exists here), `limit`/`offset`.
 */
import type { FastifyInstance } from 'fastify'
import { Limits, StratoError, asBody, type FunctionRecord, type Tag } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { functionUrnOf } from '../function-view.js'

interface Params {
  project_id: string
  resource_type: string
  action: string
}

interface TagFilter {
  readonly key: string
  readonly values: readonly string[]
}

const MAX_LIMIT = 1000

function bad(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', detail)
}

function tagFilters(raw: unknown, field: string): TagFilter[] {
  if (raw === undefined || raw === null) {
    return []
  }
  if (!Array.isArray(raw) || raw.length > 20) {
    bad(`'${field}' must be an array of at most 20 {key, values}.`)
  }
  return raw.map((t: unknown) => {
    const { key, values } = asBody(t)
    if (typeof key !== 'string' || key === '') {
      bad(`Every '${field}' entry needs a key.`)
    }
    if (
      values !== undefined &&
      (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
    ) {
      bad(`'${field}' values of '${key}' must be an array of strings.`)
    }
    return { key, values: (values ?? []) as string[] }
  })
}

/** A string of a whole number from `min` to `max`, or a number; `fallback` when absent. */
function count(raw: unknown, field: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') {
    return fallback
  }
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < min || n > max) {
    bad(`'${field}' must be an integer from ${min} to ${max}.`)
  }
  return n
}

function hasTags(tags: readonly Tag[], filters: readonly TagFilter[]): boolean {
  return filters.every((f) =>
    tags.some((t) => t.key === f.key && (f.values.length === 0 || f.values.includes(t.value))),
  )
}

export function registerResourceInstanceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: Params }>(
    '/v2/:project_id/:resource_type/resource-instances/:action',
    async (request) => {
      const { project_id: projectId, resource_type: type, action } = request.params
      if (type !== 'functions') {
        throw new StratoError(
          'ROUTE_NOT_FOUND',
          `Resource type '${type}' has no tags here; use 'functions'.`,
        )
      }
      if (action !== 'filter' && action !== 'count') {
        bad(`The action must be 'filter' or 'count', not '${action}'.`)
      }
      const body = asBody(request.body ?? {})
      const withoutAnyTag = body.without_any_tag === true || body.without_any_tag === 'true'
      const tags = tagFilters(body.tags, 'tags')
      const sysTags = tagFilters(body.sys_tags, 'sys_tags')
      const limit = count(body.limit, 'limit', 1, MAX_LIMIT, MAX_LIMIT)
      const offset = count(body.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0)
      const matches = body.matches ?? []
      if (!Array.isArray(matches)) {
        bad("'matches' must be an array of {key, value}.")
      }
      const nameContains: string[] = matches.map((m: unknown) => {
        const { key, value } = asBody(m)
        if (key !== 'resource_name' || typeof value !== 'string') {
          bad("A 'matches' entry must be {key: 'resource_name', value: <text>}.")
        }
        return value
      })
      // Strato has one enterprise project, the default ('0'): a sys_tags filter on it matches all.
      const inDefaultProject = sysTags.every(
        (f) =>
          f.key === '_sys_enterprise_project_id' &&
          (f.values.length === 0 || f.values.includes('0')),
      )
      const all = await deps.store.functions.list(projectId, {
        marker: 0,
        maxItems: Limits.FUNCTIONS_PER_PROJECT,
      })
      const found: Array<{ fn: FunctionRecord; tags: Tag[] }> = []
      for (const fn of all.functions) {
        if (!inDefaultProject || !nameContains.every((v) => fn.name.includes(v))) {
          continue
        }
        const own = await deps.store.tags.list(fn.id)
        if (withoutAnyTag ? own.length === 0 : hasTags(own, tags)) {
          found.push({ fn, tags: own })
        }
      }
      if (action === 'count') {
        return { total_count: found.length }
      }
      return {
        resources: found.slice(offset, offset + limit).map(({ fn, tags: own }) => ({
          resource_id: fn.id,
          resource_detail: { detailId: functionUrnOf(fn, deps.config.region) },
          tags: own.map((t) => ({ key: t.key, value: t.value })),
          sys_tags: [{ key: '_sys_enterprise_project_id', value: '0' }],
          resource_name: fn.name,
        })),
        total_count: found.length,
      }
    },
  )
}
