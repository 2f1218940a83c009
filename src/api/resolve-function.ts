/**
 * @module The routes' door to resolution: the URN of a `/v2/{project_id}/fgs/functions/{function_urn}`
 * path, resolved by the resolution service within the path's project.
 */
import type { FunctionRecord, RoutingInput } from '../core/index.js'
import type { ResolutionService, ResolvedFunctionWithAlias } from '../services/index.js'

/** The path parameters of every `/v2/{project_id}/fgs/functions/{function_urn}/…` route. */
export interface FunctionPathParams {
  readonly project_id: string
  readonly function_urn: string
}

/**
 * Resolves the path's URN in the path's project (see `ResolutionService.resolve`). `routing` is
 * given for invocations: an alias then routes by rules and weights.
 */
export function resolveFunction(
  resolution: ResolutionService,
  params: FunctionPathParams,
  routing?: RoutingInput,
): Promise<ResolvedFunctionWithAlias> {
  return resolution.resolve(params.project_id, params.function_urn, routing)
}

/** For changes: only `latest` can be changed; a published version is immutable. */
export function resolveLatest(
  resolution: ResolutionService,
  params: FunctionPathParams,
): Promise<FunctionRecord> {
  return resolution.resolveLatest(params.project_id, params.function_urn)
}
