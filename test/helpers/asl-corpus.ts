/**
 * @module Reading the ASL conformance corpus (`test/conformance/asl/*.json`) and comparing a
 * result with a case's expectation the way its README says: JSON values exactly (key order
 * aside), and the values at a loose case's `placeholders` paths as patterns in which each
 * normalised placeholder (`<uuid:1>`, `arn:<partition>`, `111111111111`, …) stands for any
 * non-empty text, or, for whole-value placeholders (`date`, `RequestId`, …), any value.
 */
import { readFileSync } from 'node:fs'
import { JSONPath } from 'jsonpath-plus'
import type { JsonValue } from '../../src/flows/index.js'

export function loadCorpus<T>(file: string): T[] {
  const url = new URL(`../conformance/asl/${file}`, import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as T[]
}

const WHOLE_VALUE_PLACEHOLDERS = new Set([
  'date',
  'timestamp',
  'RequestId',
  'RandomNumberGenerated',
  'snf_role_arn',
  'start-time',
  'entered-time',
  'x-amzn-RequestId',
  'X-Amzn-Trace-Id',
])

/**
 * A literal part of a placeholder string. The snapshots re-serialised some JSON causes (Lambda's
 * error JSON) with and some without spaces after `,` and `:`, so that spacing is optional.
 */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/([,:]) ?/g, '$1 ?')
}

function placeholderPattern(expected: string): RegExp {
  const tokens = /arn:<partition>|<[^<>]+>|111111111111|\bdate\b|snf_role_arn/g
  let source = ''
  let last = 0
  for (const match of expected.matchAll(tokens)) {
    source += escapeRegExp(expected.slice(last, match.index)) + '.+'
    last = match.index + match[0].length
  }
  return new RegExp(`^${source}${escapeRegExp(expected.slice(last))}$`, 's')
}

/** JSON pointers (relative to `expect`) of a case's placeholder paths. */
export function placeholderPointers(
  expect: JsonValue,
  placeholders: readonly string[] | undefined,
): Set<string> {
  const pointers = new Set<string>()
  for (const path of placeholders ?? []) {
    const found: unknown = JSONPath({ path, json: expect as object, resultType: 'pointer' })
    if (Array.isArray(found)) {
      for (const pointer of found) {
        pointers.add(String(pointer))
      }
    }
  }
  return pointers
}

/** Differences between expected and actual (empty = they match), `wildcards` as JSON pointers. */
export function jsonDifferences(
  expected: JsonValue | undefined,
  actual: JsonValue | undefined,
  pointer: string,
  wildcards: ReadonlySet<string>,
): string[] {
  const show = (v: JsonValue | undefined): string =>
    v === undefined ? 'nothing' : JSON.stringify(v)
  if (wildcards.has(pointer)) {
    if (actual === undefined) {
      return [`${pointer}: missing`]
    }
    if (typeof expected === 'string' && !WHOLE_VALUE_PLACEHOLDERS.has(expected)) {
      const text = typeof actual === 'string' ? actual : JSON.stringify(actual)
      return placeholderPattern(expected).test(text) ? [] : [`${pointer}: ${text} !~ ${expected}`]
    }
    if (typeof expected === 'object' && expected !== null) {
      // A placeholder path above the leaves: compare below it, leaves as patterns.
      const below = new Set(wildcards)
      const walk = (value: JsonValue, at: string): void => {
        if (typeof value === 'object' && value !== null) {
          for (const [k, v] of Object.entries(value)) {
            walk(v, `${at}/${k}`)
          }
        } else {
          below.add(at)
        }
      }
      walk(expected, pointer)
      below.delete(pointer)
      return jsonDifferences(expected, actual, pointer, below)
    }
    return []
  }
  if (
    expected === null ||
    expected === undefined ||
    typeof expected !== 'object' ||
    actual === null ||
    actual === undefined ||
    typeof actual !== 'object'
  ) {
    return expected === actual
      ? []
      : [`${pointer || '/'}: expected ${show(expected)}, got ${show(actual)}`]
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) {
    return [`${pointer || '/'}: expected ${show(expected)}, got ${show(actual)}`]
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length !== actual.length) {
    return [`${pointer || '/'}: expected ${show(expected)}, got ${show(actual)}`]
  }
  const out: string[] = []
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)])
  for (const key of keys) {
    const child = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
    out.push(
      ...jsonDifferences(
        (expected as Record<string, JsonValue>)[key],
        (actual as Record<string, JsonValue>)[key],
        child,
        wildcards,
      ),
    )
  }
  return out
}
