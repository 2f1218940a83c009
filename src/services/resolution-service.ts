/**
 * @module Resolution: finds the function a URN names within a project (`latest`, a published
 * version, or an alias routed to one of its versions), for the API, the trigger sources and the
 * async dispatcher alike.
 */
import {
  BoundedMemo,
  StratoError,
  formatFunctionUrn,
  parseFunctionUrn,
  qualifierOf,
  type FunctionRecord,
  type FunctionRef,
  type FunctionResolver,
  type ResolvedFunction,
  type RoutingInput,
} from '../core/index.js'
import type { Alias, Store, VersionRule } from '../store/index.js'

/** A URN resolved by this service: the alias is the stored one, with its routing. */
export interface ResolvedFunctionWithAlias extends ResolvedFunction {
  readonly alias: Alias | undefined
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

/** An async event carries no headers or cookies: its aliases route by weight only. */
const NO_ROUTING_INPUT: RoutingInput = { header: () => undefined, cookie: () => undefined }

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
 * Parsed URNs: every call to a function names it the same way, and parsing (a split, two regular
 * expressions, a new object) was 2 % of a warm invocation's CPU. Bounded: made-up URNs cannot grow
 * it. Only URNs that parsed are kept; a bad one throws each time.
 */
const parsedUrns = new BoundedMemo<string, FunctionRef>(4096)

function parsedUrnOf(functionUrn: string, projectId: string): FunctionRef {
  const key = `${projectId}\n${functionUrn}`
  const known = parsedUrns.get(key)
  if (known !== undefined) {
    return known
  }
  return parsedUrns.set(key, Object.freeze(parseFunctionUrn(functionUrn, projectId)))
}

/** Resolves URNs over the store's function, version and alias repositories (served from memory). */
export class ResolutionService implements FunctionResolver {
  readonly #store: Pick<Store, 'functions' | 'versions'>
  readonly #region: string

  constructor(store: Pick<Store, 'functions' | 'versions'>, region: string) {
    this.#store = store
    this.#region = region
  }

  async resolve(
    projectId: string,
    functionUrn: string,
    routing?: RoutingInput,
  ): Promise<ResolvedFunctionWithAlias> {
    const ref = parsedUrnOf(functionUrn, projectId)
    if (ref.projectId !== projectId) {
      throw new StratoError(
        'FORBIDDEN',
        `The function URN names project '${ref.projectId}', not the project of the request.`,
      )
    }
    const latest = await this.#store.functions.get(ref.projectId, ref.packageName, ref.functionName)
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
      alias = await this.#store.versions.getAlias(latest, q.alias)
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
    const published = await this.#store.versions.get(latest, version)
    if (published === undefined) {
      throw new StratoError('VERSION_NOT_FOUND', `Not found the function version '${version}'.`)
    }
    return { fn: published.fn, latest, ref, alias }
  }

  /** For changes: only `latest` can be changed; a published version is immutable. */
  async resolveLatest(projectId: string, functionUrn: string): Promise<FunctionRecord> {
    const r = await this.resolve(projectId, functionUrn)
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

  /** The function's alias of this name, or 404 FSS.1053. */
  async existingAlias(latest: FunctionRecord, name: string): Promise<Alias> {
    const alias = await this.#store.versions.getAlias(latest, name)
    if (alias === undefined) {
      throw new StratoError('ALIAS_NOT_FOUND', `The alias '${name}' does not exist.`)
    }
    return alias
  }

  /**
   * Resolves the URN of an async event (or destination) for one attempt. Aliases route by weight
   * only: an async event carries no headers or cookies for rules.
   */
  async resolveAsyncTarget(projectId: string, functionUrn: string): Promise<ResolvedAsyncTarget> {
    const r = await this.resolve(projectId, functionUrn, NO_ROUTING_INPUT)
    const qualifier = qualifierOf(r.ref)
    return {
      fn: r.fn,
      alias: r.alias?.name ?? '',
      qualifier,
      functionUrn: formatFunctionUrn(
        this.#region,
        r.ref.projectId,
        r.ref.packageName,
        r.ref.functionName,
        qualifier,
      ),
    }
  }
}
