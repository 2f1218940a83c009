/**
 * @module The Task state: one `host.runTask` per attempt, with the state's timeouts and the
 * callback flag (`Strato.Callback` or a `.waitForTaskToken` resource, whose token is in
 * `$$.Task.Token` for the payload).
 */
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { readPath } from './json-path.js'
import { attemptPath, type Step, withRetryAndCatch } from './retry-and-catch.js'
import { hostCall, type Visit } from './run-scope.js'
import { effectiveInput, finishState, jsonataField } from './state-data.js'

/**
 * The token a callback task waits under: it names the execution and the attempt's effect path,
 * so the callback API can find the waiting task from the token alone.
 */
export function taskTokenOf(executionId: string, path: string): string {
  return Buffer.from(JSON.stringify({ e: executionId, p: path })).toString('base64url')
}

/** The execution id and effect path in a task token, or undefined when it is not one. */
export function parseTaskToken(token: string): { executionId: string; path: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
    if (typeof value !== 'object' || value === null) {
      return undefined
    }
    const { e, p } = value as { e?: unknown; p?: unknown }
    return typeof e === 'string' && typeof p === 'string' ? { executionId: e, path: p } : undefined
  } catch {
    return undefined
  }
}

export function runTask(visit: Visit, raw: JsonValue, next: string | undefined): Promise<Step> {
  const { state } = visit
  const { run } = visit.scope
  const resource = String(state['Resource'])
  const callback = state['Strato.Callback'] === true || resource.endsWith('.waitForTaskToken')
  return withRetryAndCatch(visit, raw, next, async (attempt) => {
    const path = attemptPath(visit, attempt)
    if (callback) {
      visit.taskToken = taskTokenOf(run.request.context.executionId, path)
    }
    const payload = await effectiveInput(visit, raw)
    const timeoutMs = await secondsField(visit, raw, 'TimeoutSeconds')
    const heartbeatMs = await secondsField(visit, raw, 'HeartbeatSeconds')
    run.nextEventId(2) // scheduled, started
    const outcome = await hostCall(
      run.host.runTask({
        ...visit.event,
        path,
        attempt,
        resource,
        payload,
        callback,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
      }),
      visit.scope.signal,
    )
    run.nextEventId() // succeeded or failed
    if (!outcome.ok) {
      throw new AslError(outcome.error, outcome.cause)
    }
    return finishState(visit, raw, outcome.output)
  })
}

/** TimeoutSeconds / HeartbeatSeconds (literal, JSONata or …Path) in ms; undefined when unset. */
async function secondsField(
  visit: Visit,
  raw: JsonValue,
  field: 'TimeoutSeconds' | 'HeartbeatSeconds',
): Promise<number | undefined> {
  const { state } = visit
  let seconds: JsonValue | undefined = state[field] as JsonValue | undefined
  if (seconds !== undefined && visit.language === 'JSONata') {
    seconds = await jsonataField(visit, seconds, field, visit.states(raw))
  }
  const path = state[`${field}Path`]
  if (seconds === undefined && typeof path === 'string') {
    seconds = readPath(raw, path, visit.pathScope())
  }
  if (seconds === undefined) {
    return undefined
  }
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0) {
    throw new AslError(
      visit.language === 'JSONata' ? 'States.QueryEvaluationError' : 'States.Runtime',
      `The ${field} field must be a positive integer, but was: ${JSON.stringify(seconds)}`,
    )
  }
  return seconds * 1000
}
