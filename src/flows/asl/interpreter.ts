/**
 * @module The ASL interpreter: runs a validated state machine against an ExecutionHost.
 *
 * Pure ASL semantics; every effect (state entered/exited, task attempts, waits) goes through the
 * host with a path that is stable across replays (host.ts), and nothing reads the clock or
 * `Math.random` directly, so a replay after a crash takes the same course. A scope (the machine,
 * a Parallel branch, a Map iteration) is a loop over states; a state's error either is handled by
 * its Retry/Catch or ends the scope with a StateFailure naming the state.
 */
import { AslError } from './asl-error.js'
import { evaluateChoiceRule } from './choice-rules.js'
import type { ExecutionOutcome, JsonObject, JsonValue, QueryLanguage } from './definition.js'
import type { RunRequest } from './host.js'
import { readPath } from './json-path.js'
import { evaluatePayloadTemplate } from './payload-template.js'
import { runMap } from './run-map.js'
import { runParallel } from './run-parallel.js'
import {
  type Machine,
  type RunContext,
  HostError,
  type Scope,
  StateFailure,
  Stopped,
  hostCall,
  Variables,
  Visit,
} from './run-scope.js'
import { runTask } from './run-task.js'
import type { Step } from './retry-and-catch.js'
import { afterInputPath, effectiveInput, finishState, jsonataField } from './state-data.js'
import { passResult } from './state-io.js'
import { waitUntilMs } from './wait-time.js'

const TIMED_OUT = Symbol('timed out')

/** Runs the whole execution; never throws for ASL failures (they are the FAILED outcome). */
export async function runStateMachine(request: RunRequest): Promise<ExecutionOutcome> {
  const { definition, host } = request
  const stop = new AbortController()
  const onHostAbort = (): void => stop.abort()
  host.signal.addEventListener('abort', onHostAbort, { once: true })
  if (host.signal.aborted) {
    stop.abort()
  }
  let eventId = 1 // ExecutionStarted
  const run: RunContext = {
    request,
    host,
    nextEventId: (count = 1) => (eventId += count),
    visitsSinceYield: 0,
  }
  const scope: Scope = {
    run,
    machine: definition,
    language: definition.QueryLanguage ?? 'JSONPath',
    prefix: '',
    visits: new Map(),
    variables: new Variables(),
    signal: stop.signal,
  }
  const work = runScope(scope, request.input)
  const racers: Promise<JsonValue | typeof TIMED_OUT>[] = [work]
  if (definition.TimeoutSeconds !== undefined) {
    const deadline = Date.parse(request.context.startTime) + definition.TimeoutSeconds * 1000
    racers.push(hostCall(host.sleepUntil('$execution-timeout', deadline)).then(() => TIMED_OUT))
  }
  try {
    const result = await Promise.race(racers)
    if (result === TIMED_OUT) {
      stop.abort()
      work.catch(() => undefined)
      return { status: 'FAILED', error: 'States.Timeout' }
    }
    return { status: 'SUCCEEDED', output: result }
  } catch (error) {
    if (error instanceof StateFailure) {
      return {
        status: 'FAILED',
        error: error.error,
        ...(error.errorCause === undefined ? {} : { cause: error.errorCause }),
        failedState: error.stateName,
      }
    }
    if (error instanceof Stopped) {
      return { status: 'FAILED', error: 'States.Aborted', cause: 'The execution was stopped' }
    }
    if (error instanceof HostError) {
      throw error.original
    }
    throw error
  } finally {
    host.signal.removeEventListener('abort', onHostAbort)
  }
}

/** Runs a scope's states from StartAt; its output, or a StateFailure / Stopped thrown. */
export async function runScope(scope: Scope, input: JsonValue): Promise<JsonValue> {
  let name: string | undefined = scope.machine.StartAt
  let value = input
  while (name !== undefined) {
    await yieldSometimes(scope.run)
    if (scope.signal.aborted) {
      throw new Stopped()
    }
    const state = scope.machine.States[name]
    if (state === undefined) {
      throw new StateFailure('States.Runtime', `No state "${name}"`, name)
    }
    const visitNumber = (scope.visits.get(name) ?? 0) + 1
    scope.visits.set(name, visitNumber)
    const visit = new Visit(scope, name, state, visitNumber)
    const { host } = scope.run
    const entered = await hostCall(host.enterState({ ...visit.event, input: value }), scope.signal)
    visit.enteredAt = entered.enteredAt
    visit.enteredEventId = scope.run.nextEventId()
    let step: Step
    try {
      step = await runState(visit, value)
    } catch (error) {
      const failure = visit.failure(error)
      if (failure instanceof StateFailure) {
        await hostCall(
          host.exitState({
            ...visit.event,
            ok: false,
            error: failure.error,
            cause: failure.errorCause,
          }),
        )
      }
      throw failure
    }
    await hostCall(host.exitState({ ...visit.event, ok: true, output: step.output }))
    if (state.Type !== 'Fail') {
      scope.run.nextEventId()
    }
    value = step.output
    name = step.next
  }
  return value
}

/**
 * Pass and Choice states settle in microtasks only, so a loop of them would never let a timer
 * (the execution's timeout, EXPRESS's time limit) or I/O run: every YIELD_EVERY visits the run
 * waits one macrotask turn.
 */
const YIELD_EVERY = 1000

async function yieldSometimes(run: RunContext): Promise<void> {
  run.visitsSinceYield += 1
  if (run.visitsSinceYield >= YIELD_EVERY) {
    run.visitsSinceYield = 0
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

function nextOf(visit: Visit): string | undefined {
  return visit.state.End === true ? undefined : visit.state.Next
}

async function runState(visit: Visit, raw: JsonValue): Promise<Step> {
  switch (visit.state.Type) {
    case 'Pass':
      return { output: await runPass(visit, raw), next: nextOf(visit) }
    case 'Succeed':
      return {
        output: await finishState(visit, raw, await afterInputPath(visit, raw)),
        next: undefined,
      }
    case 'Fail':
      return runFail(visit, raw)
    case 'Choice':
      return runChoice(visit, raw)
    case 'Wait':
      return { output: await runWait(visit, raw), next: nextOf(visit) }
    case 'Task':
      return runTask(visit, raw, nextOf(visit))
    case 'Parallel':
      return runParallel(visit, raw, nextOf(visit), runChildScope)
    case 'Map':
      return runMap(visit, raw, nextOf(visit), runChildScope)
    default:
      throw new AslError('States.Runtime', `Unknown state type ${String(visit.state.Type)}`)
  }
}

/** Runs a Parallel branch or a Map iteration as a scope inside `visit`'s scope. */
export function runChildScope(
  visit: Visit,
  machine: Machine,
  prefix: string,
  input: JsonValue,
  signal: AbortSignal,
): Promise<JsonValue> {
  const language: QueryLanguage = machine.QueryLanguage ?? visit.language
  const child: Scope = {
    run: visit.scope.run,
    machine,
    language,
    prefix,
    visits: new Map(),
    variables: new Variables(visit.scope.variables),
    signal,
  }
  return runScope(child, input)
}

async function runPass(visit: Visit, raw: JsonValue): Promise<JsonValue> {
  const effective = await effectiveInput(visit, raw)
  return finishState(visit, raw, passResult(visit.state, effective))
}

async function runFail(visit: Visit, raw: JsonValue): Promise<Step> {
  const { state } = visit
  const field = async (name: 'Error' | 'Cause'): Promise<string | undefined> => {
    const literal = state[name]
    if (visit.language === 'JSONata') {
      if (literal === undefined) {
        return undefined
      }
      const value = await jsonataField(visit, literal as JsonValue, name, visit.states(raw))
      return typeof value === 'string' ? value : JSON.stringify(value)
    }
    const path = state[`${name}Path`]
    if (typeof path === 'string') {
      const value = resolveFailPath(visit, raw, path, `${name}Path`)
      return typeof value === 'string' ? value : JSON.stringify(value)
    }
    return typeof literal === 'string' ? literal : undefined
  }
  const error = await field('Error')
  const cause = await field('Cause')
  throw new StateFailure(error ?? '', cause, visit.name) // '' = AWS gives no error name
}

function resolveFailPath(visit: Visit, raw: JsonValue, path: string, field: string): JsonValue {
  if (path.startsWith('States.')) {
    const evaluated = evaluatePayloadTemplate({ [`${field}.$`]: path }, raw, visit.pathScope())
    return (evaluated as JsonObject)[field] ?? null
  }
  try {
    return readPath(raw, path, visit.pathScope())
  } catch {
    throw new AslError(
      'States.Runtime',
      `The JSONPath '${path}' specified for the field '${field}' could not be found in the input '${JSON.stringify(raw)}'`,
    )
  }
}

async function runChoice(visit: Visit, raw: JsonValue): Promise<Step> {
  const { state } = visit
  const rules = (state['Choices'] ?? []) as JsonObject[]
  const input = await afterInputPath(visit, raw)
  for (const rule of rules) {
    const matched =
      visit.language === 'JSONata'
        ? await conditionHolds(visit, rule['Condition'] ?? false, raw)
        : evaluateChoiceRule(rule, input, visit.pathScope())
    if (matched) {
      const output = await finishState(visit, raw, input, {
        ...(rule['Assign'] === undefined ? {} : { Assign: rule['Assign'] as JsonObject }),
        ...(rule['Output'] === undefined ? {} : { Output: rule['Output'] }),
      })
      return { output, next: rule['Next'] as string }
    }
  }
  const fallback = state['Default']
  if (typeof fallback !== 'string') {
    throw new StateFailure('States.NoChoiceMatched', undefined, visit.name)
  }
  return { output: await finishState(visit, raw, input), next: fallback }
}

async function conditionHolds(
  visit: Visit,
  condition: JsonValue,
  raw: JsonValue,
): Promise<boolean> {
  const value = await jsonataField(visit, condition, 'Condition', visit.states(raw))
  if (typeof value !== 'boolean') {
    throw new AslError(
      'States.QueryEvaluationError',
      `The JSONata expression '${typeof condition === 'string' ? condition : JSON.stringify(condition)}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '${typeof value}' for value: ${JSON.stringify(value)}`,
    )
  }
  return value
}

async function runWait(visit: Visit, raw: JsonValue): Promise<JsonValue> {
  const input = await afterInputPath(visit, raw)
  const until = await waitUntilMs(visit, raw, input)
  await hostCall(visit.scope.run.host.sleepUntil(visit.path, until), visit.scope.signal)
  return finishState(visit, raw, input)
}
