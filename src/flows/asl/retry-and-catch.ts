/**
 * @module Retry and Catch around a Task, Parallel or Map visit: each attempt runs the whole state
 * (input to output); a failed attempt is retried as its deciding retrier allows, after an
 * interval the host persists (`sleepUntil`), and once retries are exhausted the first matching
 * catcher turns the error into output and the catcher's Next.
 */
import { errorMatches } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { allowsRetry, decidingRetrier, retryDelayMs } from './retry-policy.js'
import { StateFailure, hostCall, type Visit } from './run-scope.js'
import { catcherOutput } from './state-data.js'

export interface Step {
  readonly output: JsonValue
  readonly next: string | undefined
}

/** The effect path of attempt `attempt` (1 = the first, which has no suffix). */
export function attemptPath(visit: Visit, attempt: number): string {
  return attempt === 1 ? visit.path : `${visit.path}@${attempt}`
}

export async function withRetryAndCatch(
  visit: Visit,
  raw: JsonValue,
  next: string | undefined,
  attemptState: (attempt: number) => Promise<JsonValue>,
): Promise<Step> {
  const retriers = visit.state.Retry ?? []
  const retriesByRetrier = new Map<number, number>()
  const { host } = visit.scope.run
  for (let attempt = 1; ; attempt++) {
    let failure: StateFailure
    try {
      return { output: await attemptState(attempt), next }
    } catch (error) {
      const failed = visit.failure(error)
      if (!(failed instanceof StateFailure)) {
        throw failed
      }
      failure = failed
    }
    const index = decidingRetrier(retriers, failure.error)
    const retrier = retriers[index]
    const done = retriesByRetrier.get(index) ?? 0
    if (retrier !== undefined && allowsRetry(retrier, done)) {
      retriesByRetrier.set(index, done + 1)
      visit.retryCount += 1
      const delay = retryDelayMs(retrier, done + 1, visit.random)
      const key = `${attemptPath(visit, attempt + 1)}:interval`
      await hostCall(host.sleepUntil(key, host.now() + delay), visit.scope.signal)
      continue
    }
    const catcher = (visit.state.Catch ?? []).find((c) =>
      errorMatches(c.ErrorEquals, failure.error),
    )
    if (catcher === undefined) {
      throw failure
    }
    const errorOutput =
      failure.errorCause === undefined
        ? { Error: failure.error }
        : { Error: failure.error, Cause: failure.errorCause }
    return { output: await catcherOutput(visit, catcher, raw, errorOutput), next: catcher.Next }
  }
}
