/**
 * @module Finds the function a URN path parameter names, within the caller's project.
 */
import {
  StratoError,
  parseFunctionUrn,
  type FunctionRecord,
  type FunctionRef,
} from '../core/index.js'
import type { FunctionStore } from '../store/index.js'

/** The path parameters of every `/v2/{project_id}/fgs/functions/{function_urn}/…` route. */
export interface FunctionPathParams {
  readonly project_id: string
  readonly function_urn: string
}

export interface ResolvedFunction {
  readonly fn: FunctionRecord
  readonly ref: FunctionRef
  /** The version label invocations run as. */
  readonly version: string
}

/**
 * Resolves the URN of a route's path within the path's project. Only `latest` exists until versions are published, so any other
 * version is 404 FSS.1052 and any alias 404 FSS.1053, as FunctionGraph answers for unknown ones.
 */
export async function resolveFunction(
  functions: FunctionStore,
  params: FunctionPathParams,
): Promise<ResolvedFunction> {
  const projectId = params.project_id
  const ref = parseFunctionUrn(params.function_urn, projectId)
  if (ref.projectId !== projectId) {
    throw new StratoError(
      'FORBIDDEN',
      `The function URN names project '${ref.projectId}', not the project of the request.`,
    )
  }
  const fn = await functions.get(ref.projectId, ref.packageName, ref.functionName)
  if (fn === undefined) {
    throw new StratoError(
      'FUNCTION_NOT_FOUND',
      `Not found the function '${ref.packageName}:${ref.functionName}'.`,
    )
  }
  const q = ref.qualifier
  if (q !== undefined && q.kind === 'alias') {
    throw new StratoError('ALIAS_NOT_FOUND', `The alias '${q.alias}' does not exist.`)
  }
  if (q !== undefined && q.version !== 'latest') {
    throw new StratoError('VERSION_NOT_FOUND', `Not found the function version '${q.version}'.`)
  }
  return { fn, ref, version: 'latest' }
}
