/**
 * @module `PUT /fgs/functions/{func_urn}/collect/{state}` (updateFunctionCollectState): marks a
 * function collected (the console's favourite) or not. Show config tells it as `collect_state`
 * (a Strato addition; FunctionGraph's models carry no such field).
 */
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

interface CollectParams extends FunctionPathParams {
  state: string
}

/** The `collect_state` field of a function's config. */
export async function collectFieldsOf(
  deps: ApiDeps,
  functionId: string,
): Promise<{ collect_state: boolean }> {
  return { collect_state: (await deps.store.collected.collectedOf([functionId])).has(functionId) }
}

export function registerCollectStateRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.put<{ Params: CollectParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/collect/:state',
    async (request) => {
      const { state } = request.params
      if (state !== 'true' && state !== 'false') {
        throw new StratoError(
          'INVALID_PARAMETER',
          `The collect state must be 'true' or 'false', not '${state}'.`,
        )
      }
      const fn = await resolveLatest(deps.resolution, request.params)
      await deps.store.collected.set(fn.id, state === 'true')
      return {}
    },
  )
}
