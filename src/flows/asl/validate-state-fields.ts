/**
 * @module The field checks of validateDefinition that need nothing but the state itself: paths,
 * numbers, JSONata and payload-template syntax, Retry/Catch, and the Task and Wait fields.
 */
import jsonata from 'jsonata'
import { StratoError } from '../../core/index.js'
import type { QueryLanguage } from './definition.js'
import { isIntrinsicExpression } from './intrinsics.js'

export const JSONATA_EXPRESSION = /^\{%(.*)%\}$/s

export type Json = { readonly [key: string]: unknown }

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function invalid(detail: string): never {
  throw new StratoError('FLOW_INVALID_DEFINITION', detail)
}

/** A path (`$…`, `$$…`, `$name…`) or an intrinsic function call (`States.…(`, `Strato.…(`). */
export function isPath(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith('$') || isIntrinsicExpression(value))
}

export function checkReferencePath(value: unknown, where: string): void {
  if (typeof value !== 'string' || !value.startsWith('$')) {
    invalid(`${where} must be a path starting with $`)
  }
  if (/\.\.|\*|\?\(|\[\s*-?\d*\s*:/.test(value)) {
    invalid(`${where} "${value}" must be a reference path (no "..", "*", filters or slices)`)
  }
}

export function checkInteger(value: unknown, where: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${where} must be an integer from ${min} to ${max}`)
  }
}

export function checkJsonataStrings(value: unknown, where: string, field = ''): void {
  if (typeof value === 'string') {
    const match = JSONATA_EXPRESSION.exec(value)
    if (match) {
      try {
        jsonata(match[1] ?? '')
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        invalid(`${where}: ${field} holds an invalid JSONata expression: ${message}`)
      }
    }
    return
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJsonataStrings(item, where, `${field}[${index}]`))
    return
  }
  if (!isObject(value)) {
    return
  }
  for (const [key, child] of Object.entries(value)) {
    // Nested machines are checked as states of their own.
    if (key === 'Branches' || key === 'ItemProcessor' || key === 'Iterator') {
      continue
    }
    checkJsonataStrings(child, where, field === '' ? key : `${field}.${key}`)
  }
}

/** In a payload template a key ending in `.$` must hold a path or an intrinsic function. */
export function checkPayloadTemplates(state: Json, where: string): void {
  const walk = (value: unknown, field: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${field}[${i}]`))
    }
    if (!isObject(value)) {
      return
    }
    for (const [key, child] of Object.entries(value)) {
      if (key.endsWith('.$') && !isPath(child)) {
        invalid(`${where}: ${field}.${key} must hold a path or an intrinsic function`)
      }
      walk(child, `${field}.${key}`)
    }
  }
  for (const field of ['Parameters', 'ResultSelector', 'ItemSelector']) {
    if (state[field] !== undefined) {
      walk(state[field], field)
    }
  }
}

export function validateRetry(value: unknown, where: string): void {
  if (!Array.isArray(value)) {
    invalid(`${where}: Retry must be an array`)
  }
  value.forEach((retrier: unknown, index) => {
    const at = `${where}: Retry[${index}]`
    if (!isObject(retrier)) {
      invalid(`${at} must be an object`)
    }
    checkErrorEquals(retrier['ErrorEquals'], at, index === value.length - 1)
    const known = new Set([
      'ErrorEquals',
      'IntervalSeconds',
      'MaxAttempts',
      'BackoffRate',
      'MaxDelaySeconds',
      'JitterStrategy',
      'Comment',
    ])
    for (const field of Object.keys(retrier)) {
      if (!known.has(field)) {
        invalid(`${at}: field ${field} is not allowed in a retrier`)
      }
    }
    if (retrier['IntervalSeconds'] !== undefined) {
      checkInteger(retrier['IntervalSeconds'], `${at}.IntervalSeconds`, 1, 99999999)
    }
    if (retrier['MaxAttempts'] !== undefined) {
      checkInteger(retrier['MaxAttempts'], `${at}.MaxAttempts`, 0, 99999999)
    }
    if (retrier['MaxDelaySeconds'] !== undefined) {
      checkInteger(retrier['MaxDelaySeconds'], `${at}.MaxDelaySeconds`, 1, 31622401)
    }
    const rate = retrier['BackoffRate']
    if (rate !== undefined && (typeof rate !== 'number' || rate < 1)) {
      invalid(`${at}.BackoffRate must be a number ≥ 1.0`)
    }
    const jitter = retrier['JitterStrategy']
    if (jitter !== undefined && jitter !== 'FULL' && jitter !== 'NONE') {
      invalid(`${at}.JitterStrategy must be FULL or NONE`)
    }
  })
}

export function validateCatch(
  value: unknown,
  where: string,
  target: (field: string, value: unknown) => void,
): void {
  if (!Array.isArray(value)) {
    invalid(`${where}: Catch must be an array`)
  }
  value.forEach((catcher: unknown, index) => {
    const at = `Catch[${index}]`
    if (!isObject(catcher)) {
      invalid(`${where}: ${at} must be an object`)
    }
    checkErrorEquals(catcher['ErrorEquals'], `${where}: ${at}`, index === value.length - 1)
    const known = new Set(['ErrorEquals', 'Next', 'ResultPath', 'Output', 'Assign', 'Comment'])
    for (const field of Object.keys(catcher)) {
      if (!known.has(field)) {
        invalid(`${where}: ${at}: field ${field} is not allowed in a catcher`)
      }
    }
    target(`${at}.Next`, catcher['Next'])
    if (catcher['ResultPath'] !== undefined && catcher['ResultPath'] !== null) {
      checkReferencePath(catcher['ResultPath'], `${where}: ${at}.ResultPath`)
    }
  })
}

function checkErrorEquals(value: unknown, at: string, last: boolean): void {
  if (!Array.isArray(value) || value.length === 0 || value.some((e) => typeof e !== 'string')) {
    invalid(`${at}.ErrorEquals must be a non-empty array of error names`)
  }
  if (value.includes('States.ALL')) {
    if (value.length !== 1) {
      invalid(`${at}.ErrorEquals: States.ALL must appear alone`)
    }
    if (!last) {
      invalid(`${at}.ErrorEquals: States.ALL must be in the last one`)
    }
  }
}

export function validateTask(state: Json, where: string): void {
  if (typeof state['Resource'] !== 'string' || state['Resource'] === '') {
    invalid(`${where}: Resource must be a non-empty string`)
  }
  for (const field of ['TimeoutSeconds', 'HeartbeatSeconds']) {
    const value = state[field]
    if (value === undefined || (typeof value === 'string' && JSONATA_EXPRESSION.test(value))) {
      continue
    }
    checkInteger(value, `${where}: ${field}`, 1, 99999999)
    if (state[`${field}Path`] !== undefined) {
      invalid(`${where}: ${field} and ${field}Path cannot both be set`)
    }
  }
  const timeout = state['TimeoutSeconds']
  const heartbeat = state['HeartbeatSeconds']
  if (typeof timeout === 'number' && typeof heartbeat === 'number' && heartbeat >= timeout) {
    invalid(`${where}: HeartbeatSeconds must be smaller than TimeoutSeconds`)
  }
  const callback = state['Strato.Callback']
  if (callback !== undefined && typeof callback !== 'boolean') {
    invalid(`${where}: Strato.Callback must be a boolean`)
  }
}

export function validateWait(state: Json, where: string, language: QueryLanguage): void {
  const fields = ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath'].filter(
    (field) => state[field] !== undefined,
  )
  if (fields.length !== 1) {
    invalid(`${where}: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is needed`)
  }
  const seconds = state['Seconds']
  const literal = (value: unknown): boolean =>
    !(language === 'JSONata' && typeof value === 'string' && JSONATA_EXPRESSION.test(value))
  if (seconds !== undefined && literal(seconds)) {
    checkInteger(seconds, `${where}: Seconds`, 0, 99999999)
  }
  const timestamp = state['Timestamp']
  if (timestamp !== undefined && literal(timestamp)) {
    if (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp))) {
      invalid(`${where}: Timestamp must be an ISO-8601 timestamp`)
    }
  }
  for (const field of ['SecondsPath', 'TimestampPath']) {
    if (state[field] !== undefined && !isPath(state[field])) {
      invalid(`${where}: ${field} must be a path starting with $`)
    }
  }
}
