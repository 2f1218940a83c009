/**
 * @module The `event_data` of APIG and DEDICATEDGATEWAY triggers (reference §4.4): checked and
 * normalised (defaults filled in) when a trigger is created, so the gateway routes on clean data.
 */
import { APIG_METHODS, StratoError, type ApigEventData } from '../core/index.js'

function fail(detail: string): never {
  throw new StratoError('INVALID_APIG_TRIGGER', detail)
}

function str(data: Record<string, unknown>, key: string, fallback: string, max = 256): string {
  const v = data[key]
  if (v === undefined || v === null || v === '') {
    return fallback
  }
  if (typeof v !== 'string' || v.length > max) {
    fail(`event_data.${key} must be a string of at most ${max} characters.`)
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
    fail(`event_data.${key} must be one of ${allowed.join(', ')}.`)
  }
  return v as T
}

const PATH_SEGMENT = /^(?:[A-Za-z0-9_\-.~]+|\{[A-Za-z_][A-Za-z0-9_-]*\+?\})$/

/** Checks an API path: `/`, literal segments and `{param}`; `{param+}` only last. */
export function validateApigPath(path: string): string {
  if (!path.startsWith('/') || path.length > 1024 || path.includes('//')) {
    fail(`event_data.path '${path}' must start with '/' (at most 1024 characters).`)
  }
  const segments = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/')
  segments.forEach((segment, i) => {
    if (!PATH_SEGMENT.test(segment) || (segment.endsWith('+}') && i !== segments.length - 1)) {
      fail(
        `event_data.path '${path}': segment '${segment}' is not a name, '{param}' or a final '{param+}'.`,
      )
    }
  })
  return path === '/' ? '/' : `/${segments.join('/')}`
}

/** Checks a create request's `event_data` and fills in APIG's defaults. */
export function parseApigEventData(raw: unknown): ApigEventData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('event_data must be an object with at least name and path.')
  }
  const data = raw as Record<string, unknown>
  const name = str(data, 'name', '', 64)
  if (!/^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9_\u4e00-\u9fa5]{2,63}$/.test(name)) {
    fail(
      `event_data.name '${name}' must be 3 to 64 letters, digits or '_', starting with a letter.`,
    )
  }
  const pathRaw = data.path
  if (typeof pathRaw !== 'string') {
    fail('event_data.path is required.')
  }
  const funcInfo = (data.func_info ?? {}) as Record<string, unknown>
  if (typeof funcInfo !== 'object' || Array.isArray(funcInfo)) {
    fail('event_data.func_info must be an object.')
  }
  const timeout = funcInfo.timeout ?? 5000
  if (
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout < 1 ||
    timeout > 60_000
  ) {
    fail('event_data.func_info.timeout must be 1 to 60000 (ms).')
  }
  const invocationType = funcInfo.invocation_type ?? 'sync'
  if (invocationType !== 'sync' && invocationType !== 'async') {
    fail("event_data.func_info.invocation_type must be 'sync' or 'async'.")
  }
  const type = data.type ?? 1
  if (type !== 1 && type !== 2) {
    fail('event_data.type must be 1 (public) or 2 (private).')
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
