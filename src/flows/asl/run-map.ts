/**
 * @module The Map state (inline; a DISTRIBUTED processor runs inline too): each item runs the
 * ItemProcessor as its own scope, at most MaxConcurrency at a time (0 = all), and the output
 * lists the item outputs in item order. An iteration failure stops the others and fails the
 * state, unless ToleratedFailureCount/Percentage allow it.
 */
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { readPath } from './json-path.js'
import { attemptPath, type Step, withRetryAndCatch } from './retry-and-catch.js'
import { runChildren, type RunChildScope } from './run-parallel.js'
import { type Machine, StateFailure, Stopped, type Visit } from './run-scope.js'
import { afterInputPath, finishState, jsonataField, mapItemInput, mapItems } from './state-data.js'

/** What "no limit" means: AWS runs an inline Map about 40 iterations at a time. */
const UNLIMITED_CONCURRENCY = 40

export function runMap(
  visit: Visit,
  raw: JsonValue,
  next: string | undefined,
  runChild: RunChildScope,
): Promise<Step> {
  const { state } = visit
  const processor = (state['ItemProcessor'] ?? state['Iterator']) as Machine
  return withRetryAndCatch(visit, raw, next, async (attempt) => {
    const input = await afterInputPath(visit, raw)
    const items = await mapItems(visit, raw, input)
    const limit = await integerField(visit, raw, input, 'MaxConcurrency', 'integer')
    const toleratedCount = await integerField(visit, raw, input, 'ToleratedFailureCount', 'integer')
    const toleratedPercentage = await integerField(
      visit,
      raw,
      input,
      'ToleratedFailurePercentage',
      'float',
    )
    if (toleratedCount !== undefined && toleratedCount < 0) {
      throw new AslError('States.Runtime', 'ToleratedFailureCount cannot be negative.')
    }
    if (
      toleratedPercentage !== undefined &&
      (toleratedPercentage < 0 || toleratedPercentage > 100)
    ) {
      throw new AslError('States.Runtime', 'ToleratedFailurePercentage must be between 0 and 100.')
    }
    const tolerates = (failures: number): boolean =>
      (toleratedCount !== undefined && failures <= toleratedCount) ||
      (toleratedPercentage !== undefined && (failures * 100) / items.length <= toleratedPercentage)
    const { run } = visit.scope
    run.nextEventId() // MapStateStarted
    const results: JsonValue[] = items.map(() => null)
    let failures = 0
    let nextIndex = 0
    await runChildren(visit, async (children) => {
      const runItem = async (index: number): Promise<void> => {
        const value = items[index] ?? null
        try {
          const itemInput = await mapItemInput(visit, raw, input, { index, value })
          run.nextEventId() // MapIterationStarted
          const prefix = `${attemptPath(visit, attempt)}/i${index}/`
          results[index] = await runChild(visit, processor, prefix, itemInput, children.signal)
          run.nextEventId() // MapIterationSucceeded
        } catch (error) {
          if (error instanceof Stopped) {
            return
          }
          // Only an iteration's StateFailure counts against the tolerated failures; an
          // ItemSelector error is the Map's own, and a host error no failure of the flow.
          const iterationFailed = error instanceof StateFailure
          if (iterationFailed) {
            failures += 1
            if (tolerates(failures)) {
              return
            }
          }
          const tolerating = toleratedCount !== undefined || toleratedPercentage !== undefined
          children.fail(
            iterationFailed && tolerating
              ? new AslError(
                  'States.ExceedToleratedFailureThreshold',
                  'The specified tolerated failure threshold was exceeded',
                )
              : error,
          )
        }
      }
      const worker = async (): Promise<void> => {
        while (nextIndex < items.length && !children.signal.aborted) {
          const index = nextIndex
          nextIndex += 1
          await runItem(index)
        }
      }
      const workers = Math.min(
        limit === undefined || limit === 0 ? UNLIMITED_CONCURRENCY : limit,
        items.length,
      )
      await Promise.all(Array.from({ length: workers }, worker))
    })
    run.nextEventId() // MapStateSucceeded
    return finishState(visit, raw, results)
  })
}

/** A number field that may also come from a path (JSONPath) or an expression (JSONata). */
async function integerField(
  visit: Visit,
  raw: JsonValue,
  input: JsonValue,
  field: string,
  kind: 'integer' | 'float',
): Promise<number | undefined> {
  const { state } = visit
  const literal = state[field] as JsonValue | undefined
  if (literal !== undefined) {
    if (visit.language !== 'JSONata') {
      return Number(literal)
    }
    const value = await jsonataField(visit, literal, field, visit.states(raw))
    if (typeof value !== 'number') {
      throw new AslError(
        'States.QueryEvaluationError',
        `The ${field} field must be a number, but was: ${JSON.stringify(value)}`,
      )
    }
    return value
  }
  const path = state[`${field}Path`]
  if (typeof path !== 'string') {
    return undefined
  }
  const value = readPath(input, path, visit.pathScope())
  // AWS parses the value's text, so "1" counts as 1.
  const text = typeof value === 'number' || typeof value === 'string' ? String(value) : ''
  const valid = (kind === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(text)
  if (valid) {
    return Number(text)
  }
  {
    const shown = typeof value === 'string' ? value : JSON.stringify(value)
    throw new AslError(
      'States.Runtime',
      `The ${field}Path field refers to value "${shown}" which is not a valid ${kind}: ${path}`,
    )
  }
}
