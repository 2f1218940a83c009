/**
 * @module Resource tags of functions (reference §4.6): `/v2/{project}/functions/{id}/tags…`, where
 * the resource id is the function's `func_id` or its URN.
 */
import type { FastifyInstance } from 'fastify'
import { StratoError, asBody, type FunctionRecord } from '../../core/index.js'
import type { Tag } from '../../store/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveLatest } from '../resolve-function.js'

interface TagParams {
  project_id: string
  resource_type: string
  resource_id: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TAG_KEY = /^[\p{L}\p{N}_.:=+\-@]{1,128}$/u
const TAG_VALUE = /^[\p{L}\p{N}_.:/=+\-@ ]{0,255}$/u

function parseTags(raw: unknown, withValues: boolean): Tag[] {
  const tags = asBody(raw).tags
  if (!Array.isArray(tags)) {
    throw new StratoError('INVALID_PARAMETER', "'tags' must be an array of {key, value}.")
  }
  return tags.map((t: unknown) => {
    const { key, value } = asBody(t)
    if (typeof key !== 'string' || !TAG_KEY.test(key)) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `Invalid tag key ${JSON.stringify(key)}: 1 to 128 letters, digits or _.:=+-@.`,
      )
    }
    const v = value ?? ''
    if (withValues && (typeof v !== 'string' || !TAG_VALUE.test(v))) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `Invalid value of tag '${key}': up to 255 letters, digits, spaces or _.:/=+-@.`,
      )
    }
    return { key, value: typeof v === 'string' ? v : '' }
  })
}

export function registerTagRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps

  const target = async (params: TagParams): Promise<FunctionRecord> => {
    if (params.resource_type !== 'functions') {
      throw new StratoError(
        'ROUTE_NOT_FOUND',
        `Resource type '${params.resource_type}' has no tags here; use 'functions'.`,
      )
    }
    if (UUID.test(params.resource_id)) {
      const fn = await store.functions.getById(params.project_id, params.resource_id)
      if (fn === undefined) {
        throw new StratoError(
          'FUNCTION_NOT_FOUND',
          `Not found the function '${params.resource_id}'.`,
        )
      }
      return fn
    }
    return resolveLatest(deps.resolution, {
      project_id: params.project_id,
      function_urn: params.resource_id,
    })
  }

  app.get<{ Params: { project_id: string } }>('/v2/:project_id/functions/tags', async (request) => {
    const page = await store.functions.list(request.params.project_id, {
      marker: 0,
      maxItems: 100_000,
    })
    return { tags: await store.tags.keysOf(page.functions.map((f) => f.id)), sys_tags: [] }
  })

  app.get<{ Params: TagParams }>(
    '/v2/:project_id/:resource_type/:resource_id/tags',
    async (request) => {
      const fn = await target(request.params)
      return { tags: await store.tags.list(fn.id), sys_tags: [] }
    },
  )

  app.post<{ Params: TagParams }>(
    '/v2/:project_id/:resource_type/:resource_id/tags/create',
    async (request, reply) => {
      const fn = await target(request.params)
      await store.tags.put(fn.id, parseTags(request.body, true))
      return reply.code(204).send()
    },
  )

  app.delete<{ Params: TagParams }>(
    '/v2/:project_id/:resource_type/:resource_id/tags/delete',
    async (request, reply) => {
      const fn = await target(request.params)
      await store.tags.delete(
        fn.id,
        parseTags(request.body, false).map((t) => t.key),
      )
      return reply.code(204).send()
    },
  )
}
