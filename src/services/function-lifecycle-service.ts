/**
 * @module The function lifecycle: create, update and delete a function, publish and delete its
 * versions, put and delete its aliases. Each write keeps the rules the API documents (quotas,
 * sealed variables, dependency checks), each delete cascades in one store transaction, and what is
 * not a row (pools, the async dispatcher, invocation logs, code) is told after the commit.
 */
import {
  Limits,
  StratoError,
  asBody,
  isRuntimeName,
  parseCodeInput,
  parseDependVersionList,
  parseFunctionConfig,
  runtimeFamilyOf,
  validateAliasName,
  validateDescription,
  validateFunctionName,
  validatePackageName,
  validateVersionName,
  type AsyncQueue,
  type FunctionConfig,
  type FunctionRecord,
  type Invoker,
  type ResolvedFunction,
  type RuntimeFamily,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import type { Alias, IngestOptions, PublishedVersion, Store, StoredCode } from '../store/index.js'
import { parseAlias } from './alias-input.js'
import { withSealedVariables } from './sealed-variables.js'
import { checkFunctionNetwork } from './network-check.js'

/** A create or update request's body, as FunctionGraph's API sends it (JSON, checked here). */
export type FunctionBody = Readonly<Record<string, unknown>>

export interface FunctionLifecycleDeps {
  readonly store: Store
  readonly quotas: Pick<Limits.Quotas, 'codeTotalMaxBytes'>
  /** Retires warm instances of a changed or deleted function (the instance pool). */
  readonly invoker: Pick<Invoker, 'forget'>
  /** The async queue, told of deletes: none of the target's events runs after them. */
  readonly asyncQueue: Pick<AsyncQueue, 'deleteFunction' | 'discardDeleted'>
  /** Frees code nothing references any more, in the background (after deletes). */
  readonly collectUnusedCode?: () => void
  readonly logger?: Logger
  /**
   * The operator's named networks (`STRATO_NETWORKS`): a `func_vpc.vpc_id` naming none is refused.
   * Absent: not checked here (the instance start still refuses it).
   */
  readonly networkNames?: readonly string[]
}

function familyOf(fn: Pick<FunctionRecord, 'runtime'>): RuntimeFamily {
  const family = runtimeFamilyOf(fn.runtime)
  if (family === undefined) {
    throw new StratoError('INVALID_RUNTIME', `Runtime '${fn.runtime}' cannot run here.`)
  }
  return family
}

function isSome(value: unknown): boolean {
  return value !== undefined && value !== null && value !== ''
}

export class FunctionLifecycleService {
  readonly #d: FunctionLifecycleDeps

  constructor(deps: FunctionLifecycleDeps) {
    this.#d = deps
  }

  /** Creates a function from a create body: 409 if the name exists, 403 past the quota. */
  async create(projectId: string, body: FunctionBody): Promise<FunctionRecord> {
    const { store } = this.#d
    const name = validateFunctionName(body.func_name)
    const packageName = validatePackageName(body.package)
    const cfg = withSealedVariables(store.secrets, body, parseFunctionConfig(body), undefined)
    this.#checkNetwork(cfg)
    await this.#checkDependencyVersions(projectId, cfg)
    if ((await store.functions.get(projectId, packageName, name)) !== undefined) {
      throw new StratoError(
        'FUNCTION_EXISTS',
        `The function '${packageName}:${name}' already exists.`,
      )
    }
    const code = await store.code.ingest(
      parseCodeInput(body, cfg.runtime),
      familyOf(cfg),
      cfg.handler,
      { quota: await this.#codeQuota(projectId) },
    )
    await this.#checkTotalCode(projectId, code)
    return store.functions.create({ projectId, packageName, name, config: cfg, code })
  }

  /** Changes `latest`'s configuration (not its name, nor its language). */
  async updateConfig(fn: FunctionRecord, body: FunctionBody): Promise<FunctionRecord> {
    if (body.func_name !== undefined && body.func_name !== fn.name) {
      throw new StratoError(
        'INVALID_FUNCTION_NAME',
        `func_name ${JSON.stringify(body.func_name)} does not match the function '${fn.name}'; a function cannot be renamed.`,
      )
    }
    const cfg = withSealedVariables(this.#d.store.secrets, body, parseFunctionConfig(body, fn), fn)
    // Only a func_vpc the request sends: an update that leaves it alone still works after the
    // operator removed the network it names (its instances then fail to start, saying why).
    if ('func_vpc' in body) {
      this.#checkNetwork(cfg)
    }
    await this.#checkDependencyVersions(fn.projectId, cfg)
    if (familyOf(cfg) !== familyOf(fn)) {
      throw new StratoError(
        'INVALID_RUNTIME',
        `The runtime cannot change from ${fn.runtime} to ${cfg.runtime}: the code is written for another language.`,
      )
    }
    // The new handler's module need not be in the current code: a handler and its code change
    // in two calls (config, then code), and until both are in, invocations fail with a clear
    // ImportModuleError rather than the update being refused.
    const updated = await this.#d.store.functions.updateConfig(fn, cfg)
    await this.#d.invoker.forget(fn.id, 'latest')
    return updated
  }

  #checkNetwork(cfg: FunctionConfig): void {
    if (this.#d.networkNames !== undefined) {
      checkFunctionNetwork(cfg, this.#d.networkNames)
    }
  }

  /** Sets `max_instance_num` (0 disables the function). */
  async setMaxInstances(fn: FunctionRecord, n: unknown): Promise<FunctionRecord> {
    if (
      typeof n !== 'number' ||
      !Number.isInteger(n) ||
      n < Limits.MAX_INSTANCES_MIN ||
      n > Limits.MAX_INSTANCES_MAX
    ) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `max_instance_num must be an integer from ${Limits.MAX_INSTANCES_MIN} to ${Limits.MAX_INSTANCES_MAX}.`,
      )
    }
    const updated = await this.#d.store.functions.updateConfig(fn, { ...fn, maxInstances: n })
    await this.#d.invoker.forget(fn.id, 'latest')
    return updated
  }

  /** Replaces `latest`'s code (and its dependencies, if the body names them). */
  async updateCode(fn: FunctionRecord, body: FunctionBody): Promise<FunctionRecord> {
    const { store } = this.#d
    const deps = parseDependVersionList(body)
    if (deps !== undefined) {
      await this.#checkDependencyVersions(fn.projectId, { ...fn, dependVersionList: deps })
    }
    const code = await store.code.ingest(
      parseCodeInput(body, fn.runtime),
      familyOf(fn),
      fn.handler,
      { quota: await this.#codeQuota(fn.projectId, fn) },
    )
    await this.#checkTotalCode(fn.projectId, code, fn)
    const unchanged = code.digest === fn.digest && code.codeFilename === fn.codeFilename
    if (unchanged) {
      store.code.release(code.digest) // the function references it already
    }
    let updated = unchanged ? fn : await store.functions.updateCode(fn, code)
    if (deps !== undefined && JSON.stringify(deps) !== JSON.stringify(fn.dependVersionList)) {
      updated = await store.functions.updateConfig(updated, { ...updated, dependVersionList: deps })
    }
    if (updated !== fn) {
      await this.#d.invoker.forget(fn.id, 'latest')
    }
    return updated
  }

  /**
   * Deletes what a function URN names: a published version, or (no qualifier or `latest`) the
   * function with everything it owns (reference §1.2). An alias is refused: it has its own route.
   */
  async delete(target: ResolvedFunction): Promise<void> {
    const q = target.ref.qualifier
    if (q?.kind === 'alias') {
      throw new StratoError(
        'INVALID_PARAMETER',
        `Delete the alias '${q.alias}' with DELETE …/aliases/${q.alias}, not through the function URN.`,
      )
    }
    if (q !== undefined && q.version !== 'latest') {
      await this.deleteVersion(target.latest, q.version)
    } else {
      await this.deleteFunction(target.latest)
    }
  }

  /**
   * Deletes the function and all it owns. Its rows go in one transaction, whose commit drops its
   * triggers' routes at once; then the async queue ends its events (none waiting for an instance
   * gets one), its pools are retired and its logs removed, all before this resolves.
   */
  async deleteFunction(latest: FunctionRecord): Promise<void> {
    const { store } = this.#d
    await store.cascade.deleteFunction(latest)
    try {
      await this.#d.asyncQueue.deleteFunction(latest.id)
    } catch (err) {
      // The rows are gone (committed): finish the delete. Events left behind find no function at
      // their next attempt and are discarded then.
      this.#d.logger?.error(
        { err, functionId: latest.id },
        'ending a deleted function’s async events failed',
      )
    }
    await this.#d.invoker.forget(latest.id, undefined, { deleted: true })
    await store.logs.prune({ functionId: latest.id })
    this.#d.collectUnusedCode?.()
  }

  /** Deletes a published version and its triggers (refused while an alias routes to it). */
  async deleteVersion(latest: FunctionRecord, version: string): Promise<void> {
    await this.#d.store.cascade.deleteVersion(latest, version)
    // Its async events are discarded; none still waiting for an instance runs.
    await this.#d.asyncQueue.discardDeleted({ functionId: latest.id, qualifier: version })
    await this.#d.invoker.forget(latest.id, version, { deleted: true })
    this.#d.collectUnusedCode?.()
  }

  /** Publishes `latest` as a version (named, or auto-named); `digest` must be the current code's. */
  async publishVersion(latest: FunctionRecord, body: FunctionBody): Promise<PublishedVersion> {
    if (isSome(body.digest) && body.digest !== latest.digest) {
      throw new StratoError(
        'INVALID_PARAMETER',
        "'digest' is not the digest of the function's current code: it changed since you read it.",
      )
    }
    if (body.version !== undefined && body.version !== null && typeof body.version !== 'string') {
      throw new StratoError('INVALID_VERSION', "'version' must be a string.")
    }
    const name =
      typeof body.version === 'string' && body.version !== ''
        ? validateVersionName(body.version)
        : undefined
    const description = validateDescription(body.description)
    return this.#d.store.versions.publish(latest, name, description)
  }

  /** Creates an alias from a create body (its `name`, version, weights and rules). */
  async createAlias(latest: FunctionRecord, body: unknown): Promise<Alias> {
    const name = validateAliasName(asBody(body).name)
    const versions = this.#d.store.versions
    return versions.putAlias(latest, await parseAlias(versions, latest, name, body), 'create')
  }

  /** Replaces an existing alias's version, weights and rules. */
  async updateAlias(latest: FunctionRecord, name: string, body: unknown): Promise<Alias> {
    const versions = this.#d.store.versions
    return versions.putAlias(latest, await parseAlias(versions, latest, name, body), 'update')
  }

  /** Deletes an alias and its triggers; its async events are discarded. */
  async deleteAlias(latest: FunctionRecord, name: string): Promise<void> {
    if ((await this.#d.store.versions.getAlias(latest, name)) === undefined) {
      throw new StratoError('ALIAS_NOT_FOUND', `The alias '${name}' does not exist.`)
    }
    await this.#d.store.cascade.deleteAlias(latest, name)
    // None of its events still waiting for an instance runs.
    await this.#d.asyncQueue.discardDeleted({ functionId: latest.id, qualifier: `!${name}` })
  }

  /** Every attached dependency version exists in the project and is for the function's language. */
  async #checkDependencyVersions(
    projectId: string,
    cfg: Pick<FunctionConfig, 'dependVersionList' | 'runtime'>,
  ): Promise<void> {
    for (const id of cfg.dependVersionList) {
      const dep = await this.#d.store.dependencies.getById(projectId, id)
      if (
        isRuntimeName(dep.runtime) &&
        runtimeFamilyOf(dep.runtime) !== runtimeFamilyOf(cfg.runtime)
      ) {
        throw new StratoError(
          'INVALID_PARAMETER',
          `The dependency '${dep.name}' is for ${dep.runtime}; the function runs ${cfg.runtime}.`,
        )
      }
    }
  }

  /** The project's code quota and its use (zips and unzipped files), without `replaced`'s code. */
  async #codeQuota(
    projectId: string,
    replaced?: FunctionRecord,
  ): Promise<NonNullable<IngestOptions['quota']>> {
    const functions = this.#d.store.functions
    return {
      limitBytes: this.#d.quotas.codeTotalMaxBytes,
      usedBytes:
        (await functions.totalCodeSize(projectId)) -
        (replaced === undefined ? 0 : await functions.storedCodeSize(replaced)),
    }
  }

  /**
   * All code of the project stays within its total (FSS.1071). Ingest checked it already, but not
   * for a package stored before (same digest) nor against uploads running at the same time.
   */
  async #checkTotalCode(
    projectId: string,
    code: StoredCode,
    replaced?: FunctionRecord,
  ): Promise<void> {
    const quota = await this.#codeQuota(projectId, replaced)
    const total = quota.usedBytes + code.codeSize + code.unzippedSize
    if (total > this.#d.quotas.codeTotalMaxBytes) {
      this.#d.store.code.release(code.digest)
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The project's code would total ${total} bytes (zips and unzipped files); the limit is ${this.#d.quotas.codeTotalMaxBytes}.`,
      )
    }
  }
}
