/**
 * @module Export and import (`GET …/export`, `POST /fgs/functions/import`): a function with its
 * code, configuration, versions, aliases, triggers, async configs and tags as one package
 * (`function-package.ts`), and back. Import replays the function's history: each version's
 * configuration and code are set on `latest` and published under the version's name, then
 * `latest`, aliases, triggers and the rest. A failed import deletes what it made.
 */
import type { FastifyInstance } from 'fastify'
import {
  Limits,
  StratoError,
  asBody,
  parseAsyncInvokeConfig,
  validateFunctionName,
  type FunctionRecord,
} from '../../core/index.js'
import type { Store } from '../../store/index.js'
import { createTriggerOn } from '../create-trigger.js'
import type { ApiDeps } from '../deps.js'
import {
  PACKAGE_FORMAT,
  parseManifest,
  readZipEntries,
  writeFunctionPackage,
  type FunctionPackageManifest,
  type PackagedState,
} from '../function-package.js'
import { functionView } from '../function-view.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

/** Fields of the function model the server makes; the rest is a create/update-config body. */
const GENERATED_FIELDS = [
  'func_id',
  'resource_id',
  'func_urn',
  'func_name',
  'domain_id',
  'namespace',
  'project_name',
  'package',
  'cpu',
  'code_type',
  'code_url',
  'code_filename',
  'code_size',
  'digest',
  'version',
  'image_name',
  'last_modified',
  'depend_list',
  'dependencies',
]

function configBody(fn: FunctionRecord, store: Store, region: string): Record<string, unknown> {
  const view = functionView(fn, region, store.secrets)
  for (const f of GENERATED_FIELDS) {
    delete view[f]
  }
  // Sealed variables travel opened: the package is the function (its code may hold secrets too).
  view.encrypted_user_data =
    fn.encryptedUserData === '' ? '' : store.secrets.open(fn.encryptedUserData)
  return view
}

function flag(value: string | undefined): boolean | undefined {
  return value === undefined || value === '' ? undefined : value === 'true'
}

async function buildManifest(
  deps: ApiDeps,
  latest: FunctionRecord,
  withCode: boolean,
): Promise<{ manifest: FunctionPackageManifest; code: Map<string, Buffer> }> {
  const { store } = deps
  const region = deps.config.region
  const code = new Map<string, Buffer>()
  const state = async (fn: FunctionRecord): Promise<PackagedState> => {
    let entry: string | undefined
    if (withCode) {
      entry = `code/${fn.digest}.zip`
      if (!code.has(entry)) {
        code.set(entry, await store.code.readPackage(fn.digest))
      }
    }
    return {
      config: configBody(fn, store, region),
      codeType: fn.codeType,
      codeFilename: fn.codeFilename,
      code: entry,
    }
  }
  const versions = []
  for (const v of await store.versions.list(latest)) {
    versions.push({ ...(await state(v.fn)), name: v.fn.version, description: v.description })
  }
  const aliases = (await store.versions.listAliases(latest)).map((a) => ({
    name: a.name,
    version: a.version,
    description: a.description,
    additional_version_weights: a.weights,
    additional_version_strategy: Object.fromEntries(
      Object.entries(a.strategy).map(([v, st]) => [
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
  }))
  // In one canonical order: triggers made in the same millisecond list in no fixed order.
  const triggers = (await store.triggers.list(latest.id))
    .map((t) => ({
      qualifier: t.qualifier,
      typeCode: t.typeCode,
      eventTypeCode: t.eventTypeCode,
      status: t.status,
      // An APP-auth API gets a new app key where it is imported; its route is the same.
      eventData: { ...(t.eventData as Record<string, unknown>) },
    }))
    .sort((x, y) =>
      `${x.typeCode} ${x.qualifier} ${JSON.stringify(x.eventData)}`.localeCompare(
        `${y.typeCode} ${y.qualifier} ${JSON.stringify(y.eventData)}`,
      ),
    )
  const asyncConfigs = (await store.asyncConfigs.listOf(latest.id)).map((c) => ({
    qualifier: c.qualifier,
    body: {
      max_async_event_age_in_seconds: c.maxAsyncEventAgeS,
      max_async_retry_attempts: c.maxAsyncRetryAttempts,
      enable_async_status_log: c.enableAsyncStatusLog,
      destination_config: {
        ...(c.onSuccess === undefined ? {} : { on_success: c.onSuccess }),
        ...(c.onFailure === undefined ? {} : { on_failure: c.onFailure }),
      },
    },
  }))
  return {
    manifest: {
      format: PACKAGE_FORMAT,
      exportedAt: new Date().toISOString(),
      name: latest.name,
      packageName: latest.packageName,
      latest: await state(latest),
      versions,
      aliases,
      triggers,
      asyncConfigs,
      tags: await store.tags.list(latest.id),
    },
    code,
  }
}

/** The code fields of a create or update-code body for a packaged state. */
async function codeFields(
  state: PackagedState,
  entries: ReadonlyMap<string, Buffer>,
  maxEntryBytes: number,
): Promise<Record<string, unknown>> {
  const pkg = entries.get(state.code ?? '')
  if (pkg === undefined) {
    throw new StratoError('INVALID_FUNCTION_PACKAGE', 'The package lacks a code entry.')
  }
  if (state.codeType === 'inline') {
    // Inline source is stored as a one-file zip: it goes back as the source it was.
    const files = [...(await readZipEntries(pkg, maxEntryBytes)).values()]
    const [source] = files
    if (files.length !== 1 || source === undefined) {
      throw new StratoError('INVALID_FUNCTION_PACKAGE', 'Inline code must be one file.')
    }
    return { code_type: 'inline', func_code: { file: source.toString('base64') } }
  }
  return {
    code_type: state.codeType,
    ...(state.codeFilename === '' ? {} : { code_filename: state.codeFilename }),
    func_code: { file: pkg.toString('base64') },
  }
}

export function registerFunctionTransferRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, lifecycle } = deps
  const maxEntryBytes = deps.config.quotas.codePackageMaxBytes
  // The whole package (every version's code, each digest once) within one code upload's limit:
  // the body is held in memory twice (base64 and bytes), so it is not allowed to grow further.
  const IMPORT_BODY_LIMIT = Limits.bodyLimitForPackage(maxEntryBytes)

  app.get<{ Params: FunctionPathParams; Querystring: Record<string, string | undefined> }>(
    '/v2/:project_id/fgs/functions/:function_urn/export',
    async (request, reply) => {
      const { latest } = await resolveFunction(deps.resolution, request.params)
      const q = request.query
      if (q.type !== undefined && q.type !== '' && q.type !== 'code' && q.type !== 'config') {
        throw new StratoError('INVALID_QUERY', "type must be 'code' or 'config'.")
      }
      const code = q.type === 'code' || (q.type !== 'config' && flag(q.code) !== false)
      const config = q.type === 'config' || (q.type !== 'code' && flag(q.config) !== false)
      if (!code && !config) {
        throw new StratoError('INVALID_QUERY', 'Export needs code=true or config=true.')
      }
      reply.type('application/zip')
      if (!config) {
        // The code alone: the function's package as it was uploaded (or zipped from inline).
        reply.header('content-disposition', `attachment; filename="${latest.name}-code.zip"`)
        return reply.send(await store.code.readPackage(latest.digest))
      }
      const { manifest, code: files } = await buildManifest(deps, latest, code)
      reply.header('content-disposition', `attachment; filename="${latest.name}.zip"`)
      return reply.send(await writeFunctionPackage(manifest, files))
    },
  )

  app.post<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/functions/import',
    { bodyLimit: IMPORT_BODY_LIMIT },
    async (request) => {
      const projectId = request.params.project_id
      const body = asBody(request.body)
      const name = validateFunctionName(body.func_name)
      if (body.file_type !== 'zip') {
        throw new StratoError(
          'INVALID_FUNCTION_PACKAGE',
          `file_type ${JSON.stringify(body.file_type)}: only 'zip' is imported.`,
        )
      }
      if (typeof body.file_code !== 'string' || body.file_code === '') {
        throw new StratoError('INVALID_FUNCTION_PACKAGE', "'file_code' must hold the base64 zip.")
      }
      const entries = await readZipEntries(Buffer.from(body.file_code, 'base64'), maxEntryBytes)
      const m = parseManifest(entries)
      const packageName =
        typeof body.package === 'string' && body.package !== '' ? body.package : m.packageName
      const history: PackagedState[] = [...m.versions, m.latest]
      const first = m.versions[0] ?? m.latest
      let fn = await lifecycle.create(projectId, {
        ...first.config,
        func_name: name,
        package: packageName,
        ...(await codeFields(first, entries, maxEntryBytes)),
      })
      try {
        for (const [i, state] of history.entries()) {
          if (i > 0) {
            fn = await lifecycle.updateConfig(fn, { ...state.config, func_name: name })
            fn = await lifecycle.updateCode(fn, await codeFields(state, entries, maxEntryBytes))
          }
          const v = m.versions[i]
          if (v !== undefined) {
            await lifecycle.publishVersion(fn, { version: v.name, description: v.description })
          }
        }
        for (const alias of m.aliases) {
          await lifecycle.createAlias(fn, alias)
        }
        for (const t of m.triggers) {
          await createTriggerOn(
            deps,
            fn,
            {
              trigger_type_code: t.typeCode,
              event_type_code: t.eventTypeCode,
              trigger_status: t.status,
              event_data: t.eventData,
            },
            t.qualifier,
          )
        }
        for (const c of m.asyncConfigs) {
          await store.asyncConfigs.put(fn.id, c.qualifier, parseAsyncInvokeConfig(c.body))
        }
        if (m.tags.length > 0) {
          await store.tags.put(fn.id, m.tags)
        }
      } catch (err) {
        await lifecycle.deleteFunction(fn)
        throw err
      }
      return functionView(fn, deps.config.region, store.secrets)
    },
  )
}
