/**
 * @module The Parallel state: every branch runs concurrently as its own scope on the same input;
 * the output lists the branch outputs in branch order. The first branch failure stops the others
 * and becomes the state's error. With `Strato.CompletionType: atLeast`, the state succeeds once
 * `Strato.NumCompleted` branches have, stopping the rest (their slots stay null).
 */
import type { JsonValue } from './definition.js'
import { attemptPath, type Step, withRetryAndCatch } from './retry-and-catch.js'
import { type Machine, Stopped, type Visit } from './run-scope.js'
import { effectiveInput, finishState } from './state-data.js'

export type RunChildScope = (
  visit: Visit,
  machine: Machine,
  prefix: string,
  input: JsonValue,
  signal: AbortSignal,
) => Promise<JsonValue>

export function runParallel(
  visit: Visit,
  raw: JsonValue,
  next: string | undefined,
  runChild: RunChildScope,
): Promise<Step> {
  const { state } = visit
  const branches = (state['Branches'] ?? []) as Machine[]
  const needed =
    state['Strato.CompletionType'] === 'atLeast'
      ? Number(state['Strato.NumCompleted'] ?? branches.length)
      : branches.length
  return withRetryAndCatch(visit, raw, next, async (attempt) => {
    const input = await effectiveInput(visit, raw)
    visit.scope.run.nextEventId() // ParallelStateStarted
    const stop = new AbortController()
    const onOuterAbort = (): void => stop.abort()
    visit.scope.signal.addEventListener('abort', onOuterAbort, { once: true })
    const results: JsonValue[] = branches.map(() => null)
    let succeeded = 0
    let failure: Error | undefined
    try {
      await Promise.all(
        branches.map(async (branch, index) => {
          try {
            const prefix = `${attemptPath(visit, attempt)}/b${index}/`
            results[index] = await runChild(visit, branch, prefix, input, stop.signal)
            succeeded += 1
            if (succeeded >= needed && needed < branches.length) {
              stop.abort()
            }
          } catch (error) {
            if (error instanceof Stopped) {
              return
            }
            if (failure === undefined && succeeded < needed) {
              failure = error instanceof Error ? error : new Error(String(error))
              stop.abort()
            }
          }
        }),
      )
    } finally {
      visit.scope.signal.removeEventListener('abort', onOuterAbort)
    }
    if (failure !== undefined) {
      throw failure
    }
    if (visit.scope.signal.aborted) {
      throw new Stopped()
    }
    visit.scope.run.nextEventId() // ParallelStateSucceeded
    return finishState(visit, raw, results)
  })
}
