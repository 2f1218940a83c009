/**
 * @module A function's environment variables (`user_data`, `encrypted_user_data`): names, the
 * names the platform keeps for itself, and how sealed values merge with what is stored.
 */
import { StratoError, type ErrorCode } from './errors.js'
import * as L from './limits.js'

function fail(code: ErrorCode, detail: string): never {
  throw new StratoError(code, detail)
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/
/**
 * `RUNTIME_` names the platform sets in every instance, which a function's variables may not
 * replace: FunctionGraph's reserved list (RUNTIME_PROJECT_ID … RUNTIME_API_ADDR) and the others
 * Strato's launcher sets (reference §5.9). Every other `RUNTIME_` name is the function's own:
 * public samples set `RUNTIME_LOG_LEVEL`, which the runtimes' loggers read.
 */
const RESERVED_RUNTIME_VARIABLES: ReadonlySet<string> = new Set([
  'RUNTIME_PROJECT_ID',
  'RUNTIME_FUNC_NAME',
  'RUNTIME_FUNC_VERSION',
  'RUNTIME_PACKAGE',
  'RUNTIME_HANDLER',
  'RUNTIME_TIMEOUT',
  'RUNTIME_USERDATA',
  'RUNTIME_CPU',
  'RUNTIME_MEMORY',
  'RUNTIME_CODE_ROOT',
  'RUNTIME_API_ADDR',
  'RUNTIME_INITIALIZER_HANDLER',
  'RUNTIME_INITIALIZER_TIMEOUT',
  'RUNTIME_MAX_RESP_BODY_SIZE',
  'RUNTIME_REGION',
])
// Strato's own variables and the process basics the launcher sets for the sandbox.
const RESERVED_ENV = /^STRATO_|^(PATH|HOME|TMPDIR|LANG|NODE_PATH|PYTHONPATH)$/

function isReservedVariable(name: string): boolean {
  return RESERVED_RUNTIME_VARIABLES.has(name) || RESERVED_ENV.test(name)
}

/**
 * Validates a `user_data` JSON string: an object of at most 20 string values, at most 4096
 * characters, keys usable as environment variable names and not reserved by the platform.
 */
export function validateUserData(value: unknown, field = 'user_data', secret = false): string {
  if (value === undefined || value === null || value === '') {
    return ''
  }
  if (typeof value !== 'string') {
    fail('INVALID_USER_DATA', `'${field}' must be a JSON string such as '{"key":"value"}'.`)
  }
  if (value.length > L.USER_DATA_MAX_CHARS) {
    fail(
      'USER_DATA_TOO_LARGE',
      `'${field}' is ${value.length} characters; the limit is ${L.USER_DATA_MAX_CHARS}.`,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (err) {
    // The parser's message quotes the text around the error: never for secrets.
    fail(
      'INVALID_USER_DATA',
      secret
        ? `'${field}' is not valid JSON.`
        : `'${field}' is not valid JSON: ${(err as Error).message}.`,
    )
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail('INVALID_USER_DATA', `'${field}' must be a JSON object of string values.`)
  }
  const entries = Object.entries(parsed)
  if (entries.length > L.USER_DATA_MAX_KEYS) {
    fail(
      'USER_DATA_TOO_MANY',
      `'${field}' has ${entries.length} items; the limit is ${L.USER_DATA_MAX_KEYS}.`,
    )
  }
  for (const [k, v] of entries) {
    if (!ENV_NAME.test(k)) {
      fail('INVALID_USER_DATA', `'${field}' key '${k}' is not a valid environment variable name.`)
    }
    if (isReservedVariable(k)) {
      fail('INVALID_USER_DATA', `'${field}' key '${k}' is reserved for the platform.`)
    }
    if (typeof v !== 'string') {
      fail('INVALID_USER_DATA', `'${field}' value of '${k}' must be a string.`)
    }
  }
  return value
}

/** What API responses show for sealed variables: the names, never the values. */
export const MASKED_VALUE = '******'

/**
 * Validates an `encrypted_user_data` JSON string by the rules of `user_data`. A value equal to the
 * mask keeps the value stored under that name (`previous`), so a read-modify-write of the config
 * never replaces a secret by its mask. Returns the plaintext JSON to seal ('' for none).
 */
export function mergeEncryptedUserData(
  value: unknown,
  previous: Readonly<Record<string, string>>,
  userData: string,
): string {
  const validated = validateUserData(value, 'encrypted_user_data', true)
  if (validated === '') {
    return ''
  }
  const entries = JSON.parse(validated) as Record<string, string>
  const plain = userDataEntries(userData)
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries(entries)) {
    if (k in plain) {
      fail('INVALID_USER_DATA', `'${k}' is in both user_data and encrypted_user_data.`)
    }
    const kept = v === MASKED_VALUE ? previous[k] : v
    if (kept === undefined) {
      fail(
        'INVALID_USER_DATA',
        `'encrypted_user_data' key '${k}' holds the mask but has no stored value.`,
      )
    }
    merged[k] = kept
  }
  if (Object.keys(merged).length + Object.keys(plain).length > L.USER_DATA_MAX_KEYS) {
    fail(
      'USER_DATA_TOO_MANY',
      `user_data and encrypted_user_data hold more than ${L.USER_DATA_MAX_KEYS} variables together.`,
    )
  }
  return JSON.stringify(merged)
}

/** The user variables of a validated `user_data` string. */
export function userDataEntries(userData: string): Record<string, string> {
  return userData === '' ? {} : (JSON.parse(userData) as Record<string, string>)
}
