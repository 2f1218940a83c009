/**
 * @module FunctionGraph's service bridge (`listBridgeVersions`, `listBridgeFunctions`). There, a
 * bridge function fronts a managed service of type `rds`, `mqs` or `cache` (the SDK's `type`) and
 * other functions bind to it. Strato has no bridge runtime (a function reaches a database through
 * a named network instead), so it offers no bridge versions and no function binds a bridge: both
 * lists are empty, in FunctionGraph's shape (a bare JSON array), after the checks a real answer
 * would need (docs/sdk-interpretations.md).
 */
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

const BRIDGE_TYPES = ['rds', 'mqs', 'cache']

function checkType(type: string | undefined, required: boolean): void {
  if ((type === undefined || type === '') && !required) {
    return
  }
  if (type === undefined || !BRIDGE_TYPES.includes(type)) {
    throw new StratoError(
      'INVALID_QUERY',
      `The servicebridge type must be one of ${BRIDGE_TYPES.join(', ')}, not ${JSON.stringify(type ?? '')}.`,
    )
  }
}

export function registerServiceBridgeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { type?: string } }>(
    '/v2/:project_id/fgs/servicebridge/version',
    (request) => {
      checkType(request.query.type, true)
      return []
    },
  )

  app.get<{ Params: FunctionPathParams; Querystring: { type?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/servicebridge/relation',
    async (request) => {
      checkType(request.query.type, false)
      // The function must exist (FSS.1051 otherwise); it binds no bridge functions.
      await resolveLatest(deps.resolution, request.params)
      return []
    },
  )
}
