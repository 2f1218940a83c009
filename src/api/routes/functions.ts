/**
 * @module Function management: create, list, show config and code, update config and code, delete.
 */
import type { FastifyInstance } from 'fastify'
import {
  Limits,
  StratoError,
  asBody,
  parseDependVersionList,
  MASKED_VALUE,
  mergeEncryptedUserData,
  parseCodeInput,
  parseFunctionConfig,
  isRuntimeName,
  runtimeFamilyOf,
  validateFunctionName,
  validatePackageName,
  type FunctionConfig,
  type FunctionRecord,
  type RuntimeFamily,
} from '../../core/index.js'
import type { IngestOptions, Store, StoredCode } from '../../store/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { codeView, functionView } from '../function-view.js'
import { resolveFunction, resolveLatest, type FunctionPathParams } from '../resolve-function.js'

interface ProjectParams {
  project_id: string
}
type FunctionParams = FunctionPathParams

function familyOf(fn: Pick<FunctionRecord, 'runtime'>): RuntimeFamily {
  const family = runtimeFamilyOf(fn.runtime)
  if (family === undefined) {
    throw new StratoError('INVALID_RUNTIME', `Runtime '${fn.runtime}' cannot run here.`)
  }
  return family
}

/**
 * Seals `encrypted_user_data` from the body into the config. Left out, the stored value stays; a
 * masked value keeps the stored secret of that name; unchanged plaintext keeps the sealed value as
 * it is (so publishing still sees "nothing changed").
 */
function withSealedVariables(
  store: Store,
  body: Readonly<Record<string, unknown>>,
  cfg: FunctionConfig,
  previous: FunctionRecord | undefined,
): FunctionConfig {
  if (!('encrypted_user_data' in body)) {
    if ('user_data' in body && cfg.encryptedUserData !== '') {
      // Plain variables changed alone: they must still not clash with the sealed ones.
      const sealedPlain = JSON.parse(store.secrets.open(cfg.encryptedUserData)) as Record<
        string,
        string
      >
      mergeEncryptedUserData(
        JSON.stringify(Object.fromEntries(Object.keys(sealedPlain).map((k) => [k, MASKED_VALUE]))),
        sealedPlain,
        cfg.userData,
      )
    }
    return cfg
  }
  const previousPlain =
    previous === undefined || previous.encryptedUserData === ''
      ? ''
      : store.secrets.open(previous.encryptedUserData)
  const plaintext = mergeEncryptedUserData(
    body.encrypted_user_data,
    previousPlain === '' ? {} : (JSON.parse(previousPlain) as Record<string, string>),
    cfg.userData,
  )
  if (plaintext === previousPlain) {
    return { ...cfg, encryptedUserData: previous?.encryptedUserData ?? '' }
  }
  return { ...cfg, encryptedUserData: plaintext === '' ? '' : store.secrets.seal(plaintext) }
}

/** Every attached dependency version exists in the project and is for the function's language. */
async function checkDependencyVersions(
  store: Store,
  projectId: string,
  cfg: Pick<FunctionConfig, 'dependVersionList' | 'runtime'>,
): Promise<void> {
  for (const id of cfg.dependVersionList) {
    const dep = await store.dependencies.getById(projectId, id)
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

export function registerFunctionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, config } = deps
  const region = config.region
  // A package at the quota travels as base64 inside the JSON body.
  const CODE_BODY_LIMIT_BYTES = Limits.bodyLimitForPackage(config.quotas.codePackageMaxBytes)

  /** The project's code quota and its use (zips and unzipped files), without `replaced`'s code. */
  const codeQuota = async (
    projectId: string,
    replaced?: FunctionRecord,
  ): Promise<NonNullable<IngestOptions['quota']>> => ({
    limitBytes: config.quotas.codeTotalMaxBytes,
    usedBytes:
      (await store.functions.totalCodeSize(projectId)) -
      (replaced === undefined ? 0 : await store.functions.storedCodeSize(replaced)),
  })
  /**
   * All code of the project stays within its total (FSS.1071). Ingest checked it already, but not
   * for a package stored before (same digest) nor against uploads running at the same time.
   */
  const checkTotalCode = async (
    projectId: string,
    code: StoredCode,
    replaced?: FunctionRecord,
  ): Promise<void> => {
    const quota = await codeQuota(projectId, replaced)
    const total = quota.usedBytes + code.codeSize + code.unzippedSize
    if (total > config.quotas.codeTotalMaxBytes) {
      store.code.release(code.digest)
      throw new StratoError(
        'CODE_TOO_LARGE',
        `The project's code would total ${total} bytes (zips and unzipped files); the limit is ${config.quotas.codeTotalMaxBytes}.`,
      )
    }
  }

  /** Drops warm instances of the old revision; its code is collected later (see main.ts). */
  const afterChange = (fnId: string, version?: string): Promise<void> =>
    deps.invoker.forget(fnId, version)

  app.post<{ Params: ProjectParams }>(
    '/v2/:project_id/fgs/functions',
    { bodyLimit: CODE_BODY_LIMIT_BYTES },
    async (request) => {
      const body = asBody(request.body)
      const name = validateFunctionName(body.func_name)
      const packageName = validatePackageName(body.package)
      const cfg = withSealedVariables(store, body, parseFunctionConfig(body), undefined)
      const projectId = request.params.project_id
      await checkDependencyVersions(store, projectId, cfg)
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
        { quota: await codeQuota(projectId) },
      )
      await checkTotalCode(projectId, code)
      const fn = await store.functions.create({ projectId, packageName, name, config: cfg, code })
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
      const { fn } = await resolveFunction(store, request.params)
      return functionView(fn, region, store.secrets)
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/config',
    async (request) => {
      const fn = await resolveLatest(store, request.params)
      const body = asBody(request.body)
      if (body.func_name !== undefined && body.func_name !== fn.name) {
        throw new StratoError(
          'INVALID_FUNCTION_NAME',
          `func_name ${JSON.stringify(body.func_name)} does not match the function '${fn.name}'; a function cannot be renamed.`,
        )
      }
      const cfg = withSealedVariables(store, body, parseFunctionConfig(body, fn), fn)
      await checkDependencyVersions(store, fn.projectId, cfg)
      const family = familyOf(cfg)
      if (family !== familyOf(fn)) {
        throw new StratoError(
          'INVALID_RUNTIME',
          `The runtime cannot change from ${fn.runtime} to ${cfg.runtime}: the code is written for another language.`,
        )
      }
      // The new handler's module need not be in the current code: a handler and its code change
      // in two calls (config, then code), and until both are in, invocations fail with a clear
      // ImportModuleError rather than the update being refused.
      const updated = await store.functions.updateConfig(fn, cfg)
      await afterChange(fn.id, 'latest')
      return functionView(updated, region, store.secrets)
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/config-max-instance',
    async (request) => {
      const fn = await resolveLatest(store, request.params)
      const body = asBody(request.body)
      const n = body.max_instance_num
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
      const updated = await store.functions.updateConfig(fn, { ...fn, maxInstances: n })
      await afterChange(fn.id, 'latest')
      return functionView(updated, region, store.secrets)
    },
  )

  app.get<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/code',
    async (request) => {
      const { fn } = await resolveFunction(store, request.params)
      const pkg = await store.code.readPackage(fn.digest)
      return codeView(fn, region, pkg.toString('base64'))
    },
  )

  app.put<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/code',
    { bodyLimit: CODE_BODY_LIMIT_BYTES },
    async (request) => {
      const fn = await resolveLatest(store, request.params)
      const body = asBody(request.body)
      const deps = parseDependVersionList(body)
      if (deps !== undefined) {
        await checkDependencyVersions(store, fn.projectId, { ...fn, dependVersionList: deps })
      }
      const code = await store.code.ingest(
        parseCodeInput(body, fn.runtime),
        familyOf(fn),
        fn.handler,
        { quota: await codeQuota(fn.projectId, fn) },
      )
      await checkTotalCode(fn.projectId, code, fn)
      const unchanged = code.digest === fn.digest && code.codeFilename === fn.codeFilename
      if (unchanged) {
        store.code.release(code.digest) // the function references it already
      }
      let updated = unchanged ? fn : await store.functions.updateCode(fn, code)
      if (deps !== undefined && JSON.stringify(deps) !== JSON.stringify(fn.dependVersionList)) {
        updated = await store.functions.updateConfig(updated, {
          ...updated,
          dependVersionList: deps,
        })
      }
      if (updated !== fn) {
        await afterChange(fn.id, 'latest')
      }
      const pkg = await store.code.readPackage(updated.digest)
      return codeView(updated, region, pkg.toString('base64'))
    },
  )

  app.delete<{ Params: FunctionParams }>(
    '/v2/:project_id/fgs/functions/:function_urn',
    async (request, reply) => {
      const { latest, ref } = await resolveFunction(store, request.params)
      const q = ref.qualifier
      if (q?.kind === 'alias') {
        throw new StratoError(
          'INVALID_PARAMETER',
          `Delete the alias '${q.alias}' with DELETE …/aliases/${q.alias}, not through the function URN.`,
        )
      }
      if (q !== undefined && q.version !== 'latest') {
        // A published version: only that snapshot goes (refused while an alias routes to it).
        await store.versions.deleteVersion(latest, q.version)
        // Its async events are discarded; none still waiting for an instance runs.
        await deps.asyncQueue.discardDeleted({ functionId: latest.id, qualifier: q.version })
        // Its triggers go with it, and the gateway drops their routes at once.
        await store.triggers.deleteAll(latest.id, q.version)
        await afterChange(latest.id, q.version)
        deps.collectUnusedCode?.()
        return reply.code(204).send()
      }
      // `latest` or no qualifier deletes the function with everything it owns (reference §1.2).
      // Triggers first, through their store: the gateway drops their routes at once (the rows
      // would go with the function by cascade, but without telling anyone).
      await store.triggers.deleteAll(latest.id)
      await store.functions.delete(latest)
      // At once: async events waiting for an instance must not get one while the rest goes.
      await deps.asyncQueue.deleteFunction(latest.id)
      await store.versions.deleteAllOf(latest)
      await store.testEvents.deleteAllOf(latest.id)
      await store.tags.deleteAllOf(latest.id)
      await afterChange(latest.id)
      await store.logs.prune({ functionId: latest.id })
      await store.asyncConfigs.deleteAllOf(latest.id)
      deps.collectUnusedCode?.()
      return reply.code(204).send()
    },
  )
}
