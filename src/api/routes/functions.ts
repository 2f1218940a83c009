/**
 * @module Function management: create, list, show config and code, update config and code, delete.
 * The rules (quotas, sealed variables, delete cascades) are the lifecycle service's.
 */
import type { FastifyInstance } from 'fastify'
import { Limits, asBody } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { codeView, functionView } from '../function-view.js'
import { reservedFieldsOf } from './reserved-instances.js'
import { resolveFunction, resolveLatest, type FunctionPathParams } from '../resolve-function.js'
import { withTemplate } from './templates.js'
import { collectFieldsOf } from './collect-state.js'

interface ProjectParams {
  project_id: string
}
type FunctionParams = FunctionPathParams

export function registerFunctionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, config, lifecycle } = deps
  const region = config.region
  // A package at the quota travels as base64 inside the JSON body.
  const CODE_BODY_LIMIT_BYTES = Limits.bodyLimitForPackage(config.quotas.codePackageMaxBytes)

  app.post<{ Params: ProjectParams }>(
    '/v2/:project_id/fgs/functions',
    { bodyLimit: CODE_BODY_LIMIT_BYTES },
    async (request) => {
      const body = await withTemplate(asBody(request.body))
      const fn = await lifecycle.create(request.params.project_id, body)
      return functionView(fn, region, store.secrets)
    },
  )

  app.get<{ Params: ProjectParams; Querystring: Record<string, string | undefined> }>(
    '/v2/:project_id/fgs/functions',
    async (request) => {
      const q = request.query
      const { marker, size } = parsePageQuery(q, {
        size: 'maxitems',
        max: Limits.FUNCTIONS_PER_PROJECT,
      })
      const page = await store.functions.list(request.params.project_id, {
        marker,
        maxItems: size,
        packageName: q.package_name === '' ? undefined : q.package_name,
        nameContains: q.func_name === '' ? undefined : q.func_name,
      })
      return {
        functions: page.functions.map((fn) => functionView(fn, region, store.secrets)),
        next_marker: page.nextMarker,
        count: page.count,
      }
    },
  )

  app.get<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/config',
    async (request) => {
      const { fn, latest, ref } = await resolveFunction(deps.resolution, request.params)
      return {
        ...functionView(fn, region, store.secrets),
        ...(await reservedFieldsOf(deps, latest.id, ref)),
        ...(await collectFieldsOf(deps, latest.id)),
      }
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/config',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const updated = await lifecycle.updateConfig(fn, asBody(request.body))
      return functionView(updated, region, store.secrets)
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/config-max-instance',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const updated = await lifecycle.setMaxInstances(fn, asBody(request.body).max_instance_num)
      return functionView(updated, region, store.secrets)
    },
  )

  app.get<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/code',
    async (request) => {
      const { fn } = await resolveFunction(deps.resolution, request.params)
      const pkg = await store.code.readPackage(fn.digest)
      return codeView(fn, region, pkg.toString('base64'))
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/code',
    { bodyLimit: CODE_BODY_LIMIT_BYTES },
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const updated = await lifecycle.updateCode(fn, asBody(request.body))
      const pkg = await store.code.readPackage(updated.digest)
      return codeView(updated, region, pkg.toString('base64'))
    },
  )

  app.delete<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn',
    async (request, reply) => {
      // A version URN deletes that snapshot; `latest` or none, the function and all it owns.
      await lifecycle.delete(await resolveFunction(deps.resolution, request.params))
      return reply.code(204).send()
    },
  )
}
