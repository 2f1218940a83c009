/**
 * @module Reading fields of a request body with FLOW_INVALID_DEFINITION errors that name where
 * the field is (`state "Check": data_conditions[1].transition …`).
 */
import { StratoError } from '../../core/index.js'
import type { JsonObject, JsonValue } from '../asl/definition.js'

export type Json = { readonly [key: string]: unknown }

/** Huawei's pattern for flow, state, function and retry names (the length is checked apart). */
const NAME = /^(?:[_a-zA-Z0-9().-]|[\u4e00-\u9fa5])+$/

export function invalid(detail: string): never {
  throw new StratoError('FLOW_INVALID_DEFINITION', detail)
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `where` is `state "X"` or '' (the body itself); `field` the field's path. */
export function describe(where: string, field: string): string {
  return where === '' ? field : `${where}: ${field}`
}

/** Reads the fields of one object of the body; every error names `where` and the field. */
export class Fields {
  constructor(
    readonly data: Json,
    readonly where: string,
    /** Prefix of field paths, e.g. `data_conditions[1].` */
    readonly prefix = '',
  ) {}

  at(field: string): string {
    return describe(this.where, this.prefix + field)
  }

  fail(field: string, problem: string): never {
    invalid(`${this.at(field)} ${problem}`)
  }

  has(field: string): boolean {
    return this.data[field] !== undefined && this.data[field] !== null
  }

  string(field: string, options: { required?: boolean; max?: number } = {}): string | undefined {
    const value = this.data[field]
    if (value === undefined || value === null) {
      if (options.required === true) {
        this.fail(field, 'is required')
      }
      return undefined
    }
    if (typeof value !== 'string') {
      this.fail(field, 'must be a string')
    }
    if (options.max !== undefined && value.length > options.max) {
      this.fail(field, `must have at most ${options.max} characters`)
    }
    return value
  }

  requiredString(field: string, max?: number): string {
    const value = this.string(field, { required: true, max })
    if (value === undefined || value.length === 0) {
      this.fail(field, 'must not be empty')
    }
    return value
  }

  /** A name: 1–`max` characters of letters, digits, `_().-` or Chinese characters. */
  name(field: string, max: number): string {
    const value = this.requiredString(field)
    if (value.length > max || !NAME.test(value)) {
      this.fail(
        field,
        `"${value}" must be 1 to ${max} letters, digits, Chinese characters or _ ( ) . -`,
      )
    }
    return value
  }

  number(
    field: string,
    options: { min: number; max: number; integer?: boolean; fallback?: number },
  ): number | undefined {
    const value = this.data[field]
    if (value === undefined || value === null) {
      return options.fallback
    }
    const kind = options.integer === true ? 'an integer' : 'a number'
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      (options.integer === true && !Number.isInteger(value)) ||
      value < options.min ||
      value > options.max
    ) {
      this.fail(field, `must be ${kind} from ${options.min} to ${options.max}`)
    }
    return value
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.data[field]
    if (value === undefined || value === null) {
      return fallback
    }
    if (typeof value !== 'boolean') {
      this.fail(field, 'must be true or false')
    }
    return value
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], fallback: T): T {
    const value = this.data[field]
    if (value === undefined || value === null || value === '') {
      return fallback
    }
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(field, `must be one of ${allowed.join(', ')}`)
    }
    return value as T
  }

  array(
    field: string,
    options: { required?: boolean; min?: number; max: number },
  ): readonly unknown[] {
    const value = this.data[field]
    if (value === undefined || value === null) {
      if (options.required === true) {
        this.fail(field, 'is required')
      }
      if ((options.min ?? 0) > 0) {
        this.fail(field, `needs at least ${options.min ?? 0} entries`)
      }
      return []
    }
    if (!Array.isArray(value)) {
      this.fail(field, 'must be an array')
    }
    if (value.length < (options.min ?? 0) || value.length > options.max) {
      this.fail(field, `must have ${options.min ?? 0} to ${options.max} entries`)
    }
    return value as unknown[]
  }

  /** The entries of an array field, each an object read with its own Fields. */
  objects(field: string, options: { required?: boolean; min?: number; max: number }): Fields[] {
    return this.array(field, options).map((entry, i) => {
      const at = `${field}[${i}]`
      if (!isObject(entry)) {
        this.fail(at, 'must be an object')
      }
      return new Fields(entry, this.where, `${this.prefix}${at}.`)
    })
  }

  object(field: string, options: { required?: boolean } = {}): Fields | undefined {
    const value = this.#objectValue(field, options)
    return value === undefined
      ? undefined
      : new Fields(value, this.where, `${this.prefix}${field}.`)
  }

  /** A JSON object value (a template, the constants), checked to be plain JSON. */
  json(field: string, options: { required?: boolean } = {}): JsonObject | undefined {
    const value = this.#objectValue(field, options)
    if (value !== undefined) {
      checkJson(value, (problem) => this.fail(field, problem))
    }
    return value
  }

  /** An object field's value; absent or null: undefined, or the error if it is required. */
  #objectValue(field: string, options: { required?: boolean }): Json | undefined {
    const value = this.data[field]
    if (value === undefined || value === null) {
      if (options.required === true) {
        this.fail(field, 'is required')
      }
      return undefined
    }
    if (!isObject(value)) {
      this.fail(field, 'must be an object')
    }
    return value
  }

  /** A JSONPath field: '' means `$`; otherwise it must start with `$`. */
  path(field: string): string | undefined {
    const value = this.string(field, { max: 256 })
    if (value === undefined || value.trim() === '' || value.trim() === '$') {
      return undefined
    }
    const path = value.trim()
    if (!path.startsWith('$.') && !path.startsWith('$[')) {
      this.fail(field, `"${value}" must be a JSONPath starting with $`)
    }
    return path
  }
}

function checkJson(value: unknown, fail: (problem: string) => never): asserts value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      fail('must hold JSON values only')
    }
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      checkJson(item, fail)
    }
    return
  }
  if (isObject(value)) {
    for (const item of Object.values(value)) {
      checkJson(item, fail)
    }
    return
  }
  fail('must hold JSON values only')
}
