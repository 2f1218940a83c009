/**
 * @module Finds the function a URN path parameter names, within the caller's project: `latest`, a
 * published version, or an alias routed to one of its versions by weight.
 */
import {
  StratoError,
  formatFunctionUrn,
  parseFunctionUrn,
  qualifierOf,
  type FunctionRecord,
  type FunctionRef,
} from '../core/index.js'
import type { Alias, Store, VersionRule } from '../store/index.js'

/** The path parameters of every `/v2/{project_id}/fgs/functions/{function_urn}/…` route. */
export interface FunctionPathParams {
  readonly project_id: string
  readonly function_urn: string
}

export interface ResolvedFunction {
  /** The record to run or show: `latest`, or the snapshot of a published version. */
  readonly fn: FunctionRecord
  /** `latest`, always: the function itself, whatever the URN's qualifier. */
  readonly latest: FunctionRecord
  readonly ref: FunctionRef
  /** The alias the URN named, when it named one. */
  readonly alias: Alias | undefined
}

/** What rule-based routing may look at: the invocation request's headers and cookies. */
export interface RoutingInput {
  readonly header: (name: string) => string | undefined
  readonly cookie: (name: string) => string | undefined
}

function ruleMatches(rule: VersionRule, input: RoutingInput): boolean {
  const actual =
    rule.ruleType === 'header' ? input.header(rule.param.toLowerCase()) : input.cookie(rule.param)
  if (actual === undefined) {
    return false
  }
  return rule.op === '='
    ? actual === rule.value
    : rule.value
        .split(',')
        .map((v) => v.trim())
        .includes(actual)
}

/**
 * Picks the version an alias sends this invocation to: first a version whose rules the request
 * matches (`additional_version_strategy`), then each additional version by its weight, else the
 * alias's own version.
 */
export function routeAlias(
  alias: Alias,
  input: RoutingInput | undefined,
  random: number = Math.random(),
): string {
  if (input !== undefined) {
    for (const [version, strategy] of Object.entries(alias.strategy)) {
      const hits = strategy.rules.map((r) => ruleMatches(r, input))
      if (strategy.combineType === 'or' ? hits.some(Boolean) : hits.every(Boolean)) {
        return version
      }
    }
  }
  let roll = random * 100
  for (const [version, weight] of Object.entries(alias.weights)) {
    if (roll < weight) {
      return version
    }
    roll -= weight
  }
  return alias.version
}

/**
 * Resolves the URN of a route's path within the path's project. An unknown function, version or
 * alias is 404 FSS.1051 / FSS.1052 / FSS.1053, as FunctionGraph answers.
 */
export async function resolveFunction(
  store: Store,
  params: FunctionPathParams,
  /** Given for invocations: an alias then routes by rules and weights. Otherwise an alias names its own version. */
  routing?: RoutingInput,
): Promise<ResolvedFunction> {
  const projectId = params.project_id
  const ref = parseFunctionUrn(params.function_urn, projectId)
  if (ref.projectId !== projectId) {
    throw new StratoError(
      'FORBIDDEN',
      `The function URN names project '${ref.projectId}', not the project of the request.`,
    )
  }
  const latest = await store.functions.get(ref.projectId, ref.packageName, ref.functionName)
  if (latest === undefined) {
    throw new StratoError(
      'FUNCTION_NOT_FOUND',
      `Not found the function '${ref.packageName}:${ref.functionName}'.`,
    )
  }
  const q = ref.qualifier
  if (q === undefined || (q.kind === 'version' && q.version === 'latest')) {
    return { fn: latest, latest, ref, alias: undefined }
  }
  let alias: Alias | undefined
  let version: string
  if (q.kind === 'alias') {
    alias = await store.versions.getAlias(latest, q.alias)
    if (alias === undefined) {
      throw new StratoError('ALIAS_NOT_FOUND', `The alias '${q.alias}' does not exist.`)
    }
    version = routing === undefined ? alias.version : routeAlias(alias, routing)
  } else {
    version = q.version
  }
  if (version === 'latest') {
    return { fn: latest, latest, ref, alias }
  }
  const published = await store.versions.get(latest, version)
  if (published === undefined) {
    throw new StratoError('VERSION_NOT_FOUND', `Not found the function version '${version}'.`)
  }
  return { fn: published.fn, latest, ref, alias }
}

/** For changes: only `latest` can be changed; a published version is immutable. */
export async function resolveLatest(
  store: Store,
  params: FunctionPathParams,
): Promise<FunctionRecord> {
  const r = await resolveFunction(store, params)
  if (
    r.ref.qualifier !== undefined &&
    !(r.ref.qualifier.kind === 'version' && r.ref.qualifier.version === 'latest')
  ) {
    throw new StratoError(
      'INVALID_VERSION',
      'Only latest can be changed: a published version is immutable and an alias is changed through its own API.',
    )
  }
  return r.latest
}

/** What an async attempt runs: the record (an alias routed by weight), and the URN it came from. */
export interface ResolvedAsyncTarget {
  readonly fn: FunctionRecord
  /** The alias the URN named ('' for none). */
  readonly alias: string
  /** `latest`, the version or `!alias`. */
  readonly qualifier: string
  /** The URN with its qualifier, 8 fields. */
  readonly functionUrn: string
}

/**
 * Resolves the URN of an async event (or destination) for one attempt. Aliases route by weight
 * only: an async event carries no headers or cookies for rules.
 */
export async function resolveAsyncTarget(
  store: Store,
  region: string,
  projectId: string,
  functionUrn: string,
): Promise<ResolvedAsyncTarget> {
  const r = await resolveFunction(
    store,
    { project_id: projectId, function_urn: functionUrn },
    { header: () => undefined, cookie: () => undefined },
  )
  const qualifier = qualifierOf(r.ref)
  return {
    fn: r.fn,
    alias: r.alias?.name ?? '',
    qualifier,
    functionUrn: formatFunctionUrn(
      region,
      r.ref.projectId,
      r.ref.packageName,
      r.ref.functionName,
      qualifier,
    ),
  }
}
