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
    const results: JsonValue[] = branches.map(() => null)
    let succeeded = 0
    await runChildren(visit, (children) =>
      Promise.all(
        branches.map(async (branch, index) => {
          try {
            const prefix = `${attemptPath(visit, attempt)}/b${index}/`
            results[index] = await runChild(visit, branch, prefix, input, children.signal)
            succeeded += 1
            if (succeeded >= needed && needed < branches.length) {
              children.stop()
            }
          } catch (error) {
            if (error instanceof Stopped) {
              return
            }
            if (succeeded < needed) {
              children.fail(error)
            }
          }
        }),
      ),
    )
    visit.scope.run.nextEventId() // ParallelStateSucceeded
    return finishState(visit, raw, results)
  })
}

/** The children of a Map or Parallel state while they run. */
export interface Children {
  /** Aborts when the flow is stopped or the children must stop. */
  readonly signal: AbortSignal
  /** Stops the children still running. */
  stop(): void
  /** Records the state's failure (the first one counts) and stops the children. */
  fail(error: unknown): void
}

/**
 * Runs a Map's iterations or a Parallel's branches through `run`, then throws the failure that
 * was recorded, or Stopped if the flow was stopped meanwhile.
 */
export async function runChildren(
  visit: Visit,
  run: (children: Children) => Promise<unknown>,
): Promise<void> {
  const stop = new AbortController()
  const onOuterAbort = (): void => stop.abort()
  visit.scope.signal.addEventListener('abort', onOuterAbort, { once: true })
  let failure: Error | undefined
  const children: Children = {
    signal: stop.signal,
    stop: () => stop.abort(),
    fail: (error) => {
      if (failure === undefined) {
        failure = error instanceof Error ? error : new Error(String(error))
        stop.abort()
      }
    },
  }
  try {
    await run(children)
  } finally {
    visit.scope.signal.removeEventListener('abort', onOuterAbort)
  }
  if (failure !== undefined) {
    throw failure
  }
  if (visit.scope.signal.aborted) {
    throw new Stopped()
  }
}
