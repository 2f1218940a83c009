/**
 * @module The wire shapes of a function (reference Appendix A): config, list item and code.
 */
import {
  MASKED_VALUE,
  cpuMillicoresOf,
  formatFunctionUrn,
  type FunctionRecord,
} from '../core/index.js'

/** FunctionGraph's `last_modified` form: `2019-10-25 15:37:27` (UTC here). */
export function formatLastModified(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')
}

export function functionUrnOf(fn: FunctionRecord, region: string): string {
  return formatFunctionUrn(region, fn.projectId, fn.packageName, fn.name, fn.version)
}

/** Opens sealed values; only the names of encrypted variables are ever shown. */
export interface SecretOpener {
  open(sealed: string): string
}

/** `encrypted_user_data` as responses show it: every value masked. */
function maskedVariables(fn: FunctionRecord, secrets: SecretOpener): string {
  if (fn.encryptedUserData === '') {
    return ''
  }
  const names = Object.keys(
    JSON.parse(secrets.open(fn.encryptedUserData)) as Record<string, string>,
  )
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, MASKED_VALUE])))
}

/** The function model returned by create, show config and update config. */
export function functionView(
  fn: FunctionRecord,
  region: string,
  secrets: SecretOpener,
): Record<string, unknown> {
  const stamp = formatLastModified(fn.lastModified).replace(/[-: ]/g, '').slice(2)
  return {
    ...fn.extra,
    func_id: fn.id,
    resource_id: `${fn.id}:${fn.name}`,
    func_urn: functionUrnOf(fn, region),
    func_name: fn.name,
    domain_id: fn.projectId,
    namespace: fn.projectId,
    project_name: region,
    package: fn.packageName,
    runtime: fn.runtime,
    timeout: fn.timeoutS,
    handler: fn.handler,
    memory_size: fn.memorySizeMb,
    cpu: cpuMillicoresOf(fn.memorySizeMb),
    code_type: fn.codeType,
    code_url: '',
    code_filename: fn.codeFilename,
    code_size: fn.codeSize,
    digest: fn.digest,
    version: fn.version,
    image_name: `${fn.version}-${stamp}@${fn.digest.slice(0, 5)}`,
    user_data: fn.userData,
    encrypted_user_data: maskedVariables(fn, secrets),
    description: fn.description,
    last_modified: formatLastModified(fn.lastModified),
    initializer_handler: fn.initializerHandler,
    initializer_timeout: fn.initializerTimeoutS,
    strategy_config: { concurrency: fn.maxInstances, concurrent_num: fn.concurrentNum },
    depend_list: [],
    depend_version_list: fn.dependVersionList,
    dependencies: [],
    type: typeof fn.extra.type === 'string' ? fn.extra.type : 'v2',
  }
}

/** The code model returned by show code and update code. */
export function codeView(
  fn: FunctionRecord,
  region: string,
  packageBase64: string,
): Record<string, unknown> {
  return {
    func_urn: functionUrnOf(fn, region),
    func_name: fn.name,
    domain_id: fn.projectId,
    runtime: fn.runtime,
    code_type: fn.codeType,
    code_url: '',
    code_filename: fn.codeFilename,
    code_size: fn.codeSize,
    digest: fn.digest,
    last_modified: formatLastModified(fn.lastModified),
    func_code: { file: packageBase64, link: '' },
    depend_list: [],
    depend_version_list: fn.dependVersionList,
    strategy_config: { concurrency: fn.maxInstances, concurrent_num: fn.concurrentNum },
    dependencies: [],
  }
}
