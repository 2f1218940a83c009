/**
 * @module A function's user-settable configuration and its validation, with the FSS code FunctionGraph
 * gives for each field (reference §4.1, §1.3, §9).
 */
import { StratoError, type ErrorCode } from './errors.js'
import * as L from './limits.js'
import {
  HTTP_FUNCTION_HANDLER,
  fixedHandlerOf,
  isRuntimeName,
  runtimeFamilyOf,
  supportedRuntimes,
  type RuntimeName,
} from './runtimes.js'
import { validateUserData } from './function-environment.js'

export type CodeType = 'inline' | 'zip' | 'jar' | 'obs' | 'Custom-Image-Swr'
const CODE_TYPES: readonly string[] = ['inline', 'zip', 'jar', 'obs', 'Custom-Image-Swr']

/** What a user sets on a function, validated and normalised. Units are in the names. */
export interface FunctionConfig {
  readonly runtime: RuntimeName
  readonly handler: string
  readonly memorySizeMb: number
  readonly timeoutS: number
  /** The `user_data` JSON string as given ('' when none), kept verbatim to echo back. */
  readonly userData: string
  /**
   * `encrypted_user_data`, sealed (AES-256-GCM under the data dir's master key; '' when none). Its
   * plaintext exists only in the instances that run the function.
   */
  readonly encryptedUserData: string
  readonly description: string
  readonly initializerHandler: string
  readonly initializerTimeoutS: number
  /** Attached dependency versions (ids), in the order their modules are looked up. */
  readonly dependVersionList: readonly string[]
  /** `strategy_config.concurrency`: max instances; -1 = platform cap, 0 = disabled. */
  readonly maxInstances: number
  /** `strategy_config.concurrent_num`: requests one instance may serve at once. */
  readonly concurrentNum: number
  /** Optional FunctionGraph fields Strato stores and echoes back but does not act on. */
  readonly extra: Readonly<Record<string, unknown>>
}

/** Code as it arrives in a create or update-code body, before the code store takes it. */
export interface CodeInput {
  readonly codeType: CodeType
  /** Decoded `func_code.file`. */
  readonly bytes: Buffer
  readonly codeFilename: string | undefined
}

/** Fields Strato accepts, stores and returns unchanged (no platform behaviour behind them yet). */
const PASSTHROUGH_FIELDS = [
  'xrole',
  'app_xrole',
  'type',
  'enterprise_project_id',
  'func_vpc',
  'mount_config',
  'log_config',
  'network_controller',
  'domain_names',
  'enable_dynamic_memory',
  'is_stateful_function',
  'enable_lts_log',
  'lts_custom_tag',
  'pre_stop_handler',
  'pre_stop_timeout',
  'ephemeral_storage',
  'extend_config',
  'enable_auth_in_header',
  'gpu_memory',
  'gpu_type',
  'custom_image',
] as const

type Body = Readonly<Record<string, unknown>>

function fail(code: ErrorCode, detail: string): never {
  throw new StratoError(code, detail)
}

/** Narrows a parsed request body to an object, or fails with FSS.0400. */
export function asBody(value: unknown): Body {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('INVALID_PARAMETER', 'The request body must be a JSON object.')
  }
  return value as Body
}

/** A value as a caller sent it, cut short enough to quote in an error. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

function optionalString(body: Body, field: string, code: ErrorCode): string | undefined {
  const v = body[field]
  if (v === undefined || v === null) {
    return undefined
  }
  if (typeof v !== 'string') {
    fail(code, `'${field}' must be a string.`)
  }
  return v
}

function requiredString(body: Body, field: string, code: ErrorCode): string {
  const v = optionalString(body, field, code)
  if (v === undefined) {
    fail(code, `'${field}' is required.`)
  }
  return v
}

function integer(body: Body, field: string, code: ErrorCode): number | undefined {
  const v = body[field]
  if (v === undefined || v === null) {
    return undefined
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(code, `'${field}' must be an integer, got ${shown(v)}.`)
  }
  return v
}

const FUNCTION_NAME = /^[A-Za-z]([A-Za-z0-9_-]*[A-Za-z0-9])?$/
const PACKAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/
// `file.func`: a relative path made of safe characters, never absolute, never with a `..` segment.
const HANDLER = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|\.))[A-Za-z0-9_\-./]+\.[A-Za-z_$][A-Za-z0-9_$]*$/
// A Go function's handler names its executable: a relative path of safe characters, no `..`.
const EXECUTABLE_HANDLER = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9_\-./]+$/
/**
 * Validates a `description` (of a function, version, alias or dependency; FSS.1019). Left out, it
 * is `fallback`.
 */
export function validateDescription(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) {
    return fallback
  }
  if (typeof value !== 'string') {
    fail('DESCRIPTION_TOO_LONG', "'description' must be a string.")
  }
  if (value.length > L.DESCRIPTION_MAX_CHARS) {
    fail(
      'DESCRIPTION_TOO_LONG',
      `The description is ${value.length} characters; the limit is ${L.DESCRIPTION_MAX_CHARS}.`,
    )
  }
  return value
}

/** Validates `func_name` (FSS.1002). */
export function validateFunctionName(name: unknown): string {
  if (name === undefined || name === null || name === '') {
    fail('INVALID_FUNCTION_NAME', "'func_name' is required.")
  }
  if (typeof name !== 'string') {
    fail('INVALID_FUNCTION_NAME', `'func_name' must be a string, got ${shown(name)}.`)
  }
  if (name.length > L.FUNCTION_NAME_MAX_CHARS || !FUNCTION_NAME.test(name)) {
    fail(
      'INVALID_FUNCTION_NAME',
      `Invalid func_name '${name}': 1 to ${L.FUNCTION_NAME_MAX_CHARS} letters, digits, '-' or '_', starting with a letter and ending with a letter or digit.`,
    )
  }
  return name
}

/** Validates `package` (FSS.1004). */
export function validatePackageName(name: unknown): string {
  if (name === undefined || name === null) {
    return 'default'
  }
  if (typeof name !== 'string' || name.length === 0) {
    fail('INVALID_PACKAGE', "'package' must be a non-empty string.")
  }
  if (name.length > L.PACKAGE_NAME_MAX_CHARS || !PACKAGE_NAME.test(name)) {
    fail(
      'INVALID_PACKAGE',
      `Invalid package '${name}': up to ${L.PACKAGE_NAME_MAX_CHARS} letters, digits, '_', '.' or '-'.`,
    )
  }
  return name
}

function validateRuntime(value: unknown): RuntimeName {
  if (value === undefined || value === null || value === '') {
    fail('INVALID_RUNTIME', "'runtime' is required.")
  }
  if (typeof value !== 'string') {
    fail('INVALID_RUNTIME', `'runtime' must be a string, got ${shown(value)}.`)
  }
  if (!isRuntimeName(value)) {
    fail('INVALID_RUNTIME', `Invalid runtime ${shown(value)}.`)
  }
  if (runtimeFamilyOf(value) === undefined) {
    fail(
      'INVALID_RUNTIME',
      `Runtime '${value}' is a FunctionGraph runtime that this Strato does not run yet; supported: ${supportedRuntimes().join(', ')}.`,
    )
  }
  return value
}

function validateExecutableHandler(value: string): string {
  if (value.length < 1 || value.length > L.HANDLER_MAX_CHARS || !EXECUTABLE_HANDLER.test(value)) {
    fail(
      'INVALID_HANDLER',
      `Invalid handler '${value}': a Go function's handler is the name of its executable in the code (1 to ${L.HANDLER_MAX_CHARS} characters, a relative path without '..').`,
    )
  }
  return value
}

function validateHandler(value: string, field: string, code: ErrorCode): string {
  if (
    value.length < L.HANDLER_MIN_CHARS ||
    value.length > L.HANDLER_MAX_CHARS ||
    !HANDLER.test(value)
  ) {
    fail(
      code,
      `Invalid ${field} '${value}': expected 'file.function' (${L.HANDLER_MIN_CHARS} to ${L.HANDLER_MAX_CHARS} characters, a relative path without '..').`,
    )
  }
  return value
}

function validateStrategy(body: Body, previous: FunctionConfig | undefined): [number, number] {
  const raw = body.strategy_config
  let maxInstances = previous?.maxInstances ?? L.DEFAULT_MAX_INSTANCES
  let concurrentNum = previous?.concurrentNum ?? 1
  if (raw === undefined || raw === null) {
    return [maxInstances, concurrentNum]
  }
  const s = asBody(raw)
  const c = integer(s, 'concurrency', 'INVALID_PARAMETER')
  if (c !== undefined) {
    if (c < L.MAX_INSTANCES_MIN || c > L.MAX_INSTANCES_MAX) {
      fail(
        'INVALID_PARAMETER',
        `strategy_config.concurrency is ${c}; it must be from ${L.MAX_INSTANCES_MIN} to ${L.MAX_INSTANCES_MAX}.`,
      )
    }
    maxInstances = c
  }
  const n = integer(s, 'concurrent_num', 'INVALID_PARAMETER')
  if (n !== undefined) {
    if (n < 1 || n > 1000) {
      fail(
        'INVALID_PARAMETER',
        `strategy_config.concurrent_num is ${n}; it must be from 1 to 1000.`,
      )
    }
    concurrentNum = n
  }
  return [maxInstances, concurrentNum]
}

/**
 * Validates the configuration part of a create-function or update-config body. `previous` is the
 * current configuration on update: optional fields left out keep their value.
 */
export function parseFunctionConfig(body: Body, previous?: FunctionConfig): FunctionConfig {
  const runtime = validateRuntime(body.runtime)
  const handlerRaw = requiredString(body, 'handler', 'INVALID_HANDLER')
  if (runtime === 'http' && handlerRaw !== HTTP_FUNCTION_HANDLER) {
    fail(
      'INVALID_HANDLER',
      `Invalid handler '${handlerRaw}': an HTTP function's handler is '${HTTP_FUNCTION_HANDLER}', the file that starts its web server on port 8000.`,
    )
  }
  const fixedHandler = fixedHandlerOf(runtime)
  if (fixedHandler !== undefined && handlerRaw !== fixedHandler) {
    fail(
      'INVALID_HANDLER',
      `Invalid handler '${handlerRaw}': a ${runtime} function's handler is '${fixedHandler}', the executable file at the root of its code.`,
    )
  }
  // A Custom Image function's handler ('-' in FunctionGraph's docs) names nothing: its image says what runs.
  const handler =
    fixedHandler !== undefined || runtime === 'Custom Image'
      ? handlerRaw
      : runtimeFamilyOf(runtime) === 'go'
        ? validateExecutableHandler(handlerRaw)
        : validateHandler(handlerRaw, 'handler', 'INVALID_HANDLER')
  const memorySizeMb = integer(body, 'memory_size', 'INVALID_MEMORY')
  if (memorySizeMb === undefined) {
    fail('INVALID_MEMORY', "'memory_size' is required.")
  }
  if (!L.MEMORY_SIZES_MB.includes(memorySizeMb)) {
    fail(
      'INVALID_MEMORY',
      `Invalid memory_size ${JSON.stringify(body.memory_size)}: one of ${L.MEMORY_SIZES_MB.join(', ')} (MB).`,
    )
  }
  const timeoutS = integer(body, 'timeout', 'INVALID_TIMEOUT')
  if (timeoutS === undefined) {
    fail('INVALID_TIMEOUT', "'timeout' is required.")
  }
  if (timeoutS < L.TIMEOUT_MIN_S || timeoutS > L.TIMEOUT_MAX_S) {
    fail(
      'INVALID_TIMEOUT',
      `Invalid timeout ${JSON.stringify(body.timeout)}: ${L.TIMEOUT_MIN_S} to ${L.TIMEOUT_MAX_S} seconds.`,
    )
  }
  const userData =
    'user_data' in body ? validateUserData(body.user_data) : (previous?.userData ?? '')
  const description = validateDescription(body.description, previous?.description ?? '')
  const initRaw = optionalString(body, 'initializer_handler', 'INVALID_INITIALIZER')
  const initializerHandler =
    initRaw === undefined
      ? (previous?.initializerHandler ?? '')
      : initRaw === ''
        ? ''
        : validateHandler(initRaw, 'initializer_handler', 'INVALID_INITIALIZER')
  const initTimeout = integer(body, 'initializer_timeout', 'INVALID_INITIALIZER_TIMEOUT')
  if (
    initTimeout !== undefined &&
    (initTimeout < L.INITIALIZER_TIMEOUT_MIN_S || initTimeout > L.INITIALIZER_TIMEOUT_MAX_S)
  ) {
    fail(
      'INVALID_INITIALIZER_TIMEOUT',
      `Invalid initializer_timeout ${initTimeout}: ${L.INITIALIZER_TIMEOUT_MIN_S} to ${L.INITIALIZER_TIMEOUT_MAX_S} seconds.`,
    )
  }
  const [maxInstances, concurrentNum] = validateStrategy(body, previous)
  validateNetworkController(body)
  const extra: Record<string, unknown> = { ...previous?.extra }
  for (const field of PASSTHROUGH_FIELDS) {
    if (field in body) {
      extra[field] = body[field]
    }
  }
  return {
    runtime,
    handler,
    memorySizeMb,
    timeoutS,
    userData,
    encryptedUserData: previous?.encryptedUserData ?? '',
    dependVersionList: parseDependVersionList(body) ?? previous?.dependVersionList ?? [],
    description,
    initializerHandler,
    initializerTimeoutS: initTimeout ?? previous?.initializerTimeoutS ?? 30,
    maxInstances,
    concurrentNum,
    extra,
  }
}

/** What a Custom Image function's `custom_image` changes of its image's run config. */
export interface ImageOverrides {
  /** Replaces the image's Entrypoint (and its Cmd, as `docker run --entrypoint` does). */
  readonly command?: readonly string[]
  /** Replaces the image's Cmd. */
  readonly args?: readonly string[]
  readonly workingDir?: string
}

/**
 * `custom_image.command`, `args` (FunctionGraph separates their parts with commas) and
 * `working_dir`, unless `enabled` is false; `uid` and `gid` are not applied (instances have their
 * own uid).
 */
export function imageOverridesOf(config: Pick<FunctionConfig, 'extra'>): ImageOverrides {
  const image = config.extra.custom_image
  if (image === null || typeof image !== 'object' || (image as Body).enabled === false) {
    return {}
  }
  const field = (name: string): string | undefined => {
    const v = (image as Body)[name]
    return typeof v === 'string' && v.trim() !== '' ? v : undefined
  }
  const parts = (v: string | undefined): string[] | undefined =>
    v?.split(',').filter((p) => p !== '')
  const command = parts(field('command'))
  const args = parts(field('args'))
  const workingDir = field('working_dir')
  return {
    ...(command === undefined ? {} : { command }),
    ...(args === undefined ? {} : { args }),
    ...(workingDir === undefined ? {} : { workingDir }),
  }
}

/** Validates `code_type`, `func_code` and `code_filename` of a create or update-code body. */
export function parseCodeInput(body: Body, runtime: RuntimeName): CodeInput {
  const image = runtime === 'Custom Image'
  // FunctionGraph needs no code_type for a custom image; its image archive arrives like a zip.
  const codeType = body.code_type ?? (image ? 'Custom-Image-Swr' : undefined)
  if (codeType === undefined || codeType === null) {
    fail('CODE_REQUIRED', "'code_type' is required.")
  }
  if (typeof codeType !== 'string' || !CODE_TYPES.includes(codeType)) {
    fail(
      'INVALID_CODE_TYPE',
      `Invalid code_type ${JSON.stringify(codeType)}: one of ${CODE_TYPES.join(', ')}.`,
    )
  }
  const accepted = image ? ['Custom-Image-Swr', 'zip'] : ['inline', 'zip']
  if (!accepted.includes(codeType)) {
    const why = image
      ? "a Custom Image function's code is its image archive (docker save or OCI layout tar), as code_type Custom-Image-Swr or zip"
      : codeType === 'jar'
        ? `a jar is code for a Java runtime, not ${runtime}`
        : codeType === 'obs'
          ? 'Strato has no OBS; upload the zip as code_type zip'
          : `an image is code for the Custom Image runtime, not ${runtime}`
    fail('INVALID_CODE_TYPE', `code_type '${codeType}' cannot be used here: ${why}.`)
  }
  const customImage = body.custom_image
  const funcFile =
    body.func_code !== null && typeof body.func_code === 'object'
      ? (body.func_code as Body).file
      : undefined
  if (
    image &&
    (funcFile === undefined || funcFile === '') &&
    customImage !== null &&
    typeof customImage === 'object' &&
    typeof (customImage as Body).image === 'string'
  ) {
    fail(
      'INVALID_CODE_TYPE',
      `Strato pulls no images from a registry ('${String((customImage as Body).image)}'): upload the image archive (docker save or OCI layout tar) as func_code.file.`,
    )
  }
  const funcCode = body.func_code
  if (funcCode === undefined || funcCode === null) {
    fail('CODE_REQUIRED', "'func_code.file' is required.")
  }
  const file = asBody(funcCode).file
  if (typeof file !== 'string' || file.length === 0) {
    fail('CODE_REQUIRED', "'func_code.file' must hold the base64 code.")
  }
  const base64 = /^[A-Za-z0-9+/]*={0,2}$/
  if (file.length % 4 !== 0 || !base64.test(file)) {
    fail('INVALID_CODE', "'func_code.file' is not valid base64.")
  }
  const codeFilename = optionalString(body, 'code_filename', 'INVALID_CODE')
  if (codeFilename !== undefined && !/^[A-Za-z0-9_.-]{1,128}$/.test(codeFilename)) {
    fail('INVALID_CODE', `Invalid code_filename '${codeFilename}'.`)
  }
  return { codeType: codeType as CodeType, bytes: Buffer.from(file, 'base64'), codeFilename }
}

/** Dependency versions one function may attach. */
const MAX_DEPENDENCIES = 20

/**
 * Validates `depend_version_list` (dependency version ids); `undefined` when the body leaves it
 * out. Whether each id exists is the store's question.
 */
export function parseDependVersionList(body: Body): string[] | undefined {
  const deps = body.depend_version_list
  if (deps === undefined || deps === null) {
    return undefined
  }
  if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string' || d === '')) {
    fail('INVALID_PARAMETER', "'depend_version_list' must be an array of dependency version ids.")
  }
  const ids = [...new Set(deps as string[])]
  if (ids.length > MAX_DEPENDENCIES) {
    fail(
      'INVALID_PARAMETER',
      `'depend_version_list' has ${ids.length} entries; the limit is ${MAX_DEPENDENCIES}.`,
    )
  }
  return ids
}

/**
 * What an instance of a function may reach beyond its own loopback (ADR 0023): the outside but
 * no private range (`internet`, FunctionGraph's default), nothing (`none`:
 * `network_controller.disable_public_network` is true), or exactly what the operator's named
 * network opens (`network`: `func_vpc.vpc_id` names it; FunctionGraph's VPC access).
 */
export type FunctionEgress =
  | { readonly kind: 'internet' }
  | { readonly kind: 'none' }
  | { readonly kind: 'network'; readonly name: string }

/**
 * `network_controller.disable_public_network` switches egress off only as JSON `true`: a string
 * "true" or a 1 would be stored, echoed, and leave the function open. Refused instead.
 */
function validateNetworkController(body: Body): void {
  const controller = body.network_controller
  if (controller === undefined || controller === null) {
    return
  }
  if (typeof controller !== 'object' || Array.isArray(controller)) {
    fail('INVALID_PARAMETER', "'network_controller' must be an object.")
  }
  const disable = (controller as Body).disable_public_network
  if (disable !== undefined && typeof disable !== 'boolean') {
    fail(
      'INVALID_PARAMETER',
      `'network_controller.disable_public_network' must be true or false, not ${JSON.stringify(disable)}.`,
    )
  }
}

/** The egress a function's stored `func_vpc` and `network_controller` give it. */
export function functionEgressOf(config: Pick<FunctionConfig, 'extra'>): FunctionEgress {
  const vpc = config.extra.func_vpc
  if (vpc !== null && typeof vpc === 'object') {
    const id = (vpc as Body).vpc_id
    if (typeof id === 'string' && id.trim() !== '') {
      return { kind: 'network', name: id.trim() }
    }
  }
  const controller = config.extra.network_controller
  if (
    controller !== null &&
    typeof controller === 'object' &&
    (controller as Body).disable_public_network === true
  ) {
    return { kind: 'none' }
  }
  return { kind: 'internet' }
}
