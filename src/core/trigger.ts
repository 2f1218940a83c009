/**
 * @module Triggers (reference §4.4): the wire enums, the stored shape every trigger type shares, and
 * the validation of APIG (API gateway) triggers, the type this build serves. Other types are refused
 * by name until their issue builds them (timers, message brokers, …): none is stored without
 * something that fires it.
 */
import { StratoError } from './errors.js'

/** Every `trigger_type_code` of the SDK's enum (plus the documented ROCKETMQ and IOTDA). */
export const TRIGGER_TYPE_CODES = [
  'TIMER',
  'APIG',
  'CTS',
  'DDS',
  'DMS',
  'DIS',
  'LTS',
  'OBS',
  'SMN',
  'KAFKA',
  'RABBITMQ',
  'DEDICATEDGATEWAY',
  'OPENSOURCEKAFKA',
  'APIC',
  'GAUSSMONGO',
  'EVENTGRID',
  'IOTDA',
  'ROCKETMQ',
] as const
export type TriggerTypeCode = (typeof TRIGGER_TYPE_CODES)[number]

/** The types Strato serves: both API gateway flavours route through its own gateway. */
export const SERVED_TRIGGER_TYPES: readonly TriggerTypeCode[] = ['APIG', 'DEDICATEDGATEWAY']

export type TriggerStatus = 'ACTIVE' | 'DISABLED'

/** Limits from FunctionGraph (reference §4.4, §9). */
export const TRIGGERS_PER_FUNCTION_VERSION = 10

export const APIG_METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'PATCH',
  'OPTIONS',
  'ANY',
] as const
export type ApigMethod = (typeof APIG_METHODS)[number]
export type ApigAuth = 'NONE' | 'APP' | 'IAM'

/** An APIG trigger's settings as Strato keeps them (the request's `event_data`, normalised). */
export interface ApigEventData {
  readonly name: string
  /** `/a/{id}/b` style; `{name+}` as the last segment matches the rest of the path. */
  readonly path: string
  readonly req_method: ApigMethod
  readonly auth: ApigAuth
  /** `SWA`: the path is a prefix; `NORMAL`: it must match exactly. */
  readonly match_mode: 'SWA' | 'NORMAL'
  readonly protocol: 'HTTP' | 'HTTPS'
  readonly env_name: string
  readonly env_id: string
  readonly group_id: string
  readonly group_name: string
  readonly type: number
  readonly func_info: {
    readonly timeout: number
    readonly invocation_type: 'sync' | 'async'
  }
}

export interface TriggerInput {
  readonly typeCode: TriggerTypeCode
  readonly status: TriggerStatus
  readonly eventTypeCode: string
  readonly eventData: ApigEventData
}

function fail(code: 'INVALID_APIG_TRIGGER' | 'INVALID_TRIGGER_TYPE', detail: string): never {
  throw new StratoError(code, detail)
}

function str(data: Record<string, unknown>, key: string, fallback: string, max = 256): string {
  const v = data[key]
  if (v === undefined || v === null || v === '') {
    return fallback
  }
  if (typeof v !== 'string' || v.length > max) {
    fail('INVALID_APIG_TRIGGER', `event_data.${key} must be a string of at most ${max} characters.`)
  }
  return v
}

function oneOf<T extends string>(
  data: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = str(data, key, fallback).toUpperCase()
  if (!(allowed as readonly string[]).includes(v)) {
    fail('INVALID_APIG_TRIGGER', `event_data.${key} must be one of ${allowed.join(', ')}.`)
  }
  return v as T
}

const PATH_SEGMENT = /^(?:[A-Za-z0-9_\-.~]+|\{[A-Za-z_][A-Za-z0-9_-]*\+?\})$/

/** Checks an API path: `/`, literal segments and `{param}`; `{param+}` only last. */
export function validateApigPath(path: string): string {
  if (!path.startsWith('/') || path.length > 1024 || path.includes('//')) {
    fail(
      'INVALID_APIG_TRIGGER',
      `event_data.path '${path}' must start with '/' (at most 1024 characters).`,
    )
  }
  const segments = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/')
  segments.forEach((segment, i) => {
    if (!PATH_SEGMENT.test(segment) || (segment.endsWith('+}') && i !== segments.length - 1)) {
      fail(
        'INVALID_APIG_TRIGGER',
        `event_data.path '${path}': segment '${segment}' is not a name, '{param}' or a final '{param+}'.`,
      )
    }
  })
  return path === '/' ? '/' : `/${segments.join('/')}`
}

/** Validates a create-trigger body (`trigger_type_code`, `trigger_status`, `event_data`). */
export function parseTriggerInput(body: unknown): TriggerInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    fail('INVALID_TRIGGER_TYPE', 'The request body must be a JSON object.')
  }
  const b = body as Record<string, unknown>
  const typeCode = b.trigger_type_code
  if (
    typeof typeCode !== 'string' ||
    !(TRIGGER_TYPE_CODES as readonly string[]).includes(typeCode)
  ) {
    fail(
      'INVALID_TRIGGER_TYPE',
      `Invalid trigger_type_code ${JSON.stringify(typeCode)}: one of ${TRIGGER_TYPE_CODES.join(', ')}.`,
    )
  }
  if (!(SERVED_TRIGGER_TYPES as readonly string[]).includes(typeCode)) {
    fail(
      'INVALID_TRIGGER_TYPE',
      `Trigger type ${typeCode} is not served by this Strato yet; it serves ${SERVED_TRIGGER_TYPES.join(' and ')}.`,
    )
  }
  const status = b.trigger_status ?? 'ACTIVE'
  if (status !== 'ACTIVE' && status !== 'DISABLED') {
    fail('INVALID_APIG_TRIGGER', "trigger_status must be 'ACTIVE' or 'DISABLED'.")
  }
  const eventTypeCode = typeof b.event_type_code === 'string' ? b.event_type_code : ''
  const raw = b.event_data
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('INVALID_APIG_TRIGGER', 'event_data must be an object with at least name and path.')
  }
  return {
    typeCode: typeCode as TriggerTypeCode,
    status,
    eventTypeCode,
    eventData: parseApigEventData(raw as Record<string, unknown>),
  }
}

export function parseApigEventData(data: Record<string, unknown>): ApigEventData {
  const name = str(data, 'name', '', 64)
  if (!/^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9_\u4e00-\u9fa5]{2,63}$/.test(name)) {
    fail(
      'INVALID_APIG_TRIGGER',
      `event_data.name '${name}' must be 3 to 64 letters, digits or '_', starting with a letter.`,
    )
  }
  const pathRaw = data.path
  if (typeof pathRaw !== 'string') {
    fail('INVALID_APIG_TRIGGER', 'event_data.path is required.')
  }
  const funcInfo = (data.func_info ?? {}) as Record<string, unknown>
  if (typeof funcInfo !== 'object' || Array.isArray(funcInfo)) {
    fail('INVALID_APIG_TRIGGER', 'event_data.func_info must be an object.')
  }
  const timeout = funcInfo.timeout ?? 5000
  if (
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout < 1 ||
    timeout > 60_000
  ) {
    fail('INVALID_APIG_TRIGGER', 'event_data.func_info.timeout must be 1 to 60000 (ms).')
  }
  const invocationType = funcInfo.invocation_type ?? 'sync'
  if (invocationType !== 'sync' && invocationType !== 'async') {
    fail('INVALID_APIG_TRIGGER', "event_data.func_info.invocation_type must be 'sync' or 'async'.")
  }
  const type = data.type ?? 1
  if (type !== 1 && type !== 2) {
    fail('INVALID_APIG_TRIGGER', 'event_data.type must be 1 (public) or 2 (private).')
  }
  return {
    name,
    path: validateApigPath(pathRaw),
    req_method: oneOf(data, 'req_method', APIG_METHODS, 'ANY'),
    auth: oneOf(data, 'auth', ['NONE', 'APP', 'IAM'] as const, 'IAM'),
    match_mode: oneOf(data, 'match_mode', ['SWA', 'NORMAL'] as const, 'NORMAL'),
    protocol: oneOf(data, 'protocol', ['HTTP', 'HTTPS'] as const, 'HTTPS'),
    env_name: str(data, 'env_name', 'RELEASE', 64),
    env_id: str(data, 'env_id', 'DEFAULT_ENVIRONMENT_RELEASE_ID', 64),
    group_id: str(data, 'group_id', '', 64),
    group_name: str(data, 'group_name', '', 64),
    type,
    func_info: { timeout, invocation_type: invocationType },
  }
}

/** A stored trigger of any type. */
export interface TriggerRecord {
  readonly id: string
  readonly projectId: string
  readonly functionId: string
  /** The version or alias the trigger invokes: `latest`, a version, or `!alias`. */
  readonly qualifier: string
  /** The function URN with that qualifier. */
  readonly functionUrn: string
  readonly typeCode: TriggerTypeCode
  readonly status: TriggerStatus
  readonly eventTypeCode: string
  readonly eventData: ApigEventData
  /** APP auth: the app key and its secret (sealed at rest). */
  readonly appKey: string
  readonly appSecret: string
  readonly createdAt: Date
  readonly updatedAt: Date
}
