/**
 * @module Versions (publish, list) and aliases (create, list, show, update, delete), reference §4.3.
 * Deleting a version goes through the function URN (functions.ts). The rules are the lifecycle
 * service's.
 */
import type { FastifyInstance } from 'fastify'
import { asBody, formatFunctionUrn, type FunctionRecord } from '../../core/index.js'
import type { Alias } from '../../store/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { formatLastModified, functionView } from '../function-view.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

type AliasParams = FunctionPathParams & { alias_name: string }

function aliasView(latest: FunctionRecord, alias: Alias, region: string): Record<string, unknown> {
  return {
    name: alias.name,
    version: alias.version,
    description: alias.description,
    last_modified: formatLastModified(alias.lastModified),
    alias_urn: formatFunctionUrn(
      region,
      latest.projectId,
      latest.packageName,
      latest.name,
      `!${alias.name}`,
    ),
    additional_version_weights: alias.weights,
    additional_version_strategy: Object.fromEntries(
      Object.entries(alias.strategy).map(([v, st]) => [
        v,
        {
          combine_type: st.combineType,
          rules: st.rules.map((r) => ({
            rule_type: r.ruleType,
            param: r.param,
            op: r.op,
            value: r.value,
          })),
        },
      ]),
    ),
  }
}

export function registerVersionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, lifecycle } = deps
  const region = deps.config.region

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/versions',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      const body = request.body === undefined ? {} : asBody(request.body)
      const published = await lifecycle.publishVersion(latest, body)
      return {
        ...functionView(published.fn, region, store.secrets),
        version_description: published.description,
      }
    },
  )

  app.get<{ Params: FunctionPathParams; Querystring: { marker?: string; maxitems?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/versions',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      const { marker, size } = parsePageQuery(request.query, {
        size: 'maxitems',
        max: deps.config.quotas.versionsPerFunction,
      })
      const all = [
        { ...functionView(latest, region, store.secrets), version_description: '' },
        ...(await store.versions.list(latest)).map((v) => ({
          ...functionView(v.fn, region, store.secrets),
          version_description: v.description,
        })),
      ]
      const page = all.slice(marker, marker + size)
      return { versions: page, next_marker: marker + page.length, count: all.length }
    },
  )

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      const alias = await lifecycle.createAlias(latest, request.body)
      return aliasView(latest, alias, region)
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      // FunctionGraph answers a bare array here (reference §2).
      return (await store.versions.listAliases(latest)).map((a) => aliasView(latest, a, region))
    },
  )

  app.get<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      const alias = await deps.resolution.existingAlias(latest, request.params.alias_name)
      return aliasView(latest, alias, region)
    },
  )

  app.put<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      const alias = await lifecycle.updateAlias(latest, request.params.alias_name, request.body)
      return aliasView(latest, alias, region)
    },
  )

  app.delete<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request, reply) => {
      const latest = await resolveLatest(deps.resolution, request.params)
      // Its triggers go with it, and none of its async events still waiting runs.
      await lifecycle.deleteAlias(latest, request.params.alias_name)
      return reply.code(204).send()
    },
  )
}
