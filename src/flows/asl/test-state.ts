/**
 * @module TestState: runs one state on a given input, as Step Functions' TestState API does, and
 * reports what each data-flow step produced.
 *
 * Nothing is invoked: a Task, Map or Parallel needs a `mock` (its result, or the error it
 * raised), a Wait does not wait, and Retry/Catch are decided once: an error a retrier still allows
 * is RETRIABLE (with the back-off that retry would wait), one a catcher takes is CAUGHT_ERROR
 * (with the catcher's output and next state). `stateConfiguration` sets what a single call cannot
 * observe: how many retries already happened, and how many Map iterations failed.
 *
 * The data flow is state-io's, shared with the interpreter. The inspection data at DEBUG and
 * TRACE lists the fields AWS lists for each state type and query language (recorded in the
 * conformance corpus, `test_state.json`), which is not every step: a Parallel, for instance,
 * shows no `afterInputPath`, a Pass with `Result` no `afterParameters`.
 */
import { StratoError } from '../../core/index.js'
import { AslError, errorMatches } from './asl-error.js'
import { evaluateChoiceRule } from './choice-rules.js'
import type {
  AslDefinition,
  Catcher,
  JsonObject,
  JsonValue,
  QueryLanguage,
  Retrier,
  StateBase,
} from './definition.js'
import { seededRandom } from './intrinsics.js'
import {
  evaluateJsonataExpression,
  evaluateJsonataTemplate,
  isJsonataExpression,
  jsonataExpressionText,
} from './jsonata-expressions.js'
import { readPath, type PathScope } from './json-path.js'
import { evaluateDynamicField } from './payload-template.js'
import { allowsRetry, decidingRetrier, retryDelayMs } from './retry-policy.js'
import {
  catcherOutput,
  effectiveInput,
  evaluateAssign,
  jsonataStates,
  mapItems,
  passResult,
  stateLanguage,
  stateOutput,
  type StateIoTrace,
} from './state-io.js'

export type InspectionLevel = 'INFO' | 'DEBUG' | 'TRACE'
export type TestStateStatus = 'SUCCEEDED' | 'FAILED' | 'CAUGHT_ERROR' | 'RETRIABLE'

export interface TestStateMock {
  readonly result?: JsonValue
  readonly errorOutput?: { readonly error: string; readonly cause?: string }
}

export interface TestStateConfiguration {
  /** Retries the deciding retrier has already made (default 0). */
  readonly retrierRetryCount?: number
  /** The state inside a Map or Parallel that raised the mocked error (informational). */
  readonly errorCausedByState?: string
  /** Failed iterations of a mocked Map, checked against its tolerated failure threshold. */
  readonly mapIterationFailureCount?: number
}

export interface TestStateRequest {
  /** One state, or a whole machine with `stateName` naming the state to test. */
  readonly definition: JsonObject
  readonly stateName?: string
  /** Default `{}`. */
  readonly input?: JsonValue
  /** Default INFO (no inspection data). */
  readonly inspectionLevel?: InspectionLevel
  readonly variables?: JsonObject
  /** The whole `$$`; without it one is made up like AWS's (an express execution of now). */
  readonly context?: JsonObject
  readonly roleArn?: string
  readonly mock?: TestStateMock
  readonly stateConfiguration?: TestStateConfiguration
  /** Epoch ms for the made-up context (tests fix it). */
  readonly now?: number
  /** Seeds States.UUID / $uuid / $random. */
  readonly seed?: number
}

export interface TestStateErrorDetails {
  retryBackoffIntervalSeconds?: number
  retryIndex?: number
  catchIndex?: number
}

export interface InspectionData extends StateIoTrace {
  maxConcurrency?: number
  toleratedFailureCount?: number
  toleratedFailurePercentage?: number
  errorDetails?: TestStateErrorDetails
  variables?: JsonObject
}

export interface TestStateResult {
  readonly status: TestStateStatus
  readonly output?: JsonValue
  readonly nextState?: string
  readonly error?: string
  readonly cause?: string
  readonly inspectionData?: InspectionData
}

const EXCEEDED_CAUSE = 'The specified tolerated failure threshold was exceeded'

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(detail: string): StratoError {
  return new StratoError('FLOW_INVALID_DEFINITION', `TestState: ${detail}`)
}

/** The state named `name` anywhere in a machine (branches and item processors included). */
function findState(
  machine: AslDefinition,
  name: string,
  language: QueryLanguage | undefined,
): { state: StateBase; language: QueryLanguage | undefined } | undefined {
  const lang = machine.QueryLanguage ?? language
  const direct = machine.States[name]
  if (direct !== undefined) {
    return { state: direct, language: lang }
  }
  for (const state of Object.values(machine.States)) {
    const children: unknown[] = []
    if (Array.isArray(state.Branches)) {
      children.push(...(state.Branches as unknown[]))
    }
    children.push(state.ItemProcessor, state.Iterator)
    for (const child of children) {
      if (isObject(child) && isObject(child.States)) {
        const found = findState(child as unknown as AslDefinition, name, lang)
        if (found !== undefined) {
          return found
        }
      }
    }
  }
  return undefined
}

function defaultContext(request: TestStateRequest, input: JsonValue, state: StateBase): JsonObject {
  const at = new Date(request.now ?? Date.now()).toISOString()
  const machine = 'TestStateMachine'
  const execution = 'test-state-execution'
  const stateContext: JsonObject = { Name: 'StateName', EnteredTime: at }
  if (state.Type === 'Task' || state.Type === 'Map' || state.Type === 'Parallel') {
    stateContext.RetryCount = request.stateConfiguration?.retrierRetryCount ?? 0
  }
  return {
    Execution: {
      Id: `arn:aws:states:us-east-1:000000000000:express:${machine}:${execution}`,
      Input: input,
      Name: execution,
      RoleArn: request.roleArn ?? null,
      StartTime: at,
    },
    StateMachine: {
      Id: `arn:aws:states:us-east-1:000000000000:stateMachine:${machine}`,
      Name: machine,
    },
    State: stateContext,
  }
}

/** Which inspection fields AWS reports for a state (see the module comment). */
function reportedFields(state: StateBase, lang: QueryLanguage): readonly (keyof InspectionData)[] {
  const always: (keyof InspectionData)[] = ['input', 'errorDetails', 'variables']
  const mapFields: (keyof InspectionData)[] = [
    'maxConcurrency',
    'toleratedFailureCount',
    'toleratedFailurePercentage',
  ]
  if (lang === 'JSONata') {
    if (state.Type === 'Task') {
      return [...always, 'afterArguments', 'result']
    }
    return state.Type === 'Map' ? [...always, ...mapFields] : always
  }
  switch (state.Type) {
    case 'Pass':
      return state.Result === undefined
        ? [...always, 'afterInputPath', 'afterParameters', 'afterResultSelector', 'afterResultPath']
        : [...always, 'result', 'afterResultSelector', 'afterResultPath']
    case 'Task':
      return [
        ...always,
        'afterInputPath',
        'afterParameters',
        'result',
        'afterResultSelector',
        'afterResultPath',
      ]
    case 'Parallel':
      return [...always, 'afterResultSelector', 'afterResultPath']
    case 'Map':
      return [
        ...always,
        'afterInputPath',
        'afterItemsPath',
        ...mapFields,
        'afterResultSelector',
        'afterResultPath',
      ]
    case 'Choice':
    case 'Wait':
    case 'Succeed':
    case 'Fail':
      return [...always, 'afterInputPath']
  }
}

/** Mutable state of one TestState call. */
interface Run {
  readonly request: TestStateRequest
  readonly state: StateBase
  readonly lang: QueryLanguage
  readonly raw: JsonValue
  readonly scope: PathScope
  readonly states: JsonObject
  readonly trace: InspectionData
  readonly variables: Map<string, JsonValue>
}

export async function testState(request: TestStateRequest): Promise<TestStateResult> {
  const located = locate(request)
  const raw = request.input ?? {}
  const variables = new Map<string, JsonValue>(Object.entries(request.variables ?? {}))
  const context = request.context ?? defaultContext(request, raw, located.state)
  const lang = stateLanguage(located.state, located.language)
  const run: Run = {
    request,
    state: located.state,
    lang,
    raw,
    scope: {
      context,
      variable: (name) => variables.get(name),
      random: seededRandom(request.seed ?? 0),
    },
    states: jsonataStates(raw, context),
    trace: {},
    variables,
  }
  let result: Omit<TestStateResult, 'inspectionData'>
  try {
    result = await runState(run)
  } catch (error) {
    if (!(error instanceof AslError)) {
      throw error
    }
    result = await handleError(run, error)
  }
  return withInspection(run, result)
}

function locate(request: TestStateRequest): {
  state: StateBase
  language: QueryLanguage | undefined
} {
  const { definition, stateName } = request
  if (stateName === undefined) {
    if (typeof definition.Type !== 'string') {
      throw invalid('the definition must be a state (with a Type) when no stateName is given')
    }
    return { state: definition as unknown as StateBase, language: undefined }
  }
  if (!isObject(definition.States)) {
    throw invalid('stateName needs a state machine definition (with States)')
  }
  const found = findState(definition as unknown as AslDefinition, stateName, undefined)
  if (found === undefined) {
    throw invalid(`the definition has no state named '${stateName}'`)
  }
  return found
}

function withInspection(
  run: Run,
  result: Omit<TestStateResult, 'inspectionData'>,
): TestStateResult {
  const level = run.request.inspectionLevel ?? 'INFO'
  if (level === 'INFO') {
    return result
  }
  if (run.variables.size > 0) {
    run.trace.variables = Object.fromEntries(run.variables)
  }
  const data: Record<string, unknown> = {}
  for (const field of reportedFields(run.state, run.lang)) {
    if (run.trace[field] !== undefined) {
      data[field] = run.trace[field]
    }
  }
  return { ...result, inspectionData: data }
}

function nextOf(state: StateBase): { nextState?: string } {
  return state.Next === undefined ? {} : { nextState: state.Next }
}

async function assign(run: Run, block: unknown, data: JsonValue, extra: JsonObject): Promise<void> {
  if (!isObject(block)) {
    return
  }
  const values = await evaluateAssign(block, data, run.scope, run.lang, { ...run.states, ...extra })
  for (const [name, value] of Object.entries(values)) {
    run.variables.set(name, value)
  }
}

async function runState(run: Run): Promise<Omit<TestStateResult, 'inspectionData'>> {
  const { state, raw, scope, lang, states, trace } = run
  trace.input = raw
  switch (state.Type) {
    case 'Fail':
      return failState(run)
    case 'Choice':
      return choiceState(run)
    case 'Task':
    case 'Parallel':
    case 'Map':
      return mockedState(run)
    case 'Pass':
    case 'Wait':
    case 'Succeed': {
      const effective = await effectiveInput(state, raw, scope, lang, states, trace)
      const result = state.Type === 'Pass' ? passResult(state, effective) : effective
      const output = await stateOutput(state, raw, result, scope, lang, states, trace)
      await assign(run, state.Assign, result, {})
      return { status: 'SUCCEEDED', output, ...(state.Type === 'Succeed' ? {} : nextOf(state)) }
    }
  }
}

async function failField(run: Run, field: 'Error' | 'Cause'): Promise<string | undefined> {
  const { state, raw, scope, lang, states } = run
  const literal = state[field] as JsonValue | undefined
  const path = state[`${field}Path`] as JsonValue | undefined
  let value: JsonValue | undefined = literal
  if (lang === 'JSONata' && literal !== undefined) {
    value = await evaluateJsonataTemplate(
      literal,
      { states, variable: scope.variable, random: scope.random },
      field,
    )
  } else if (path !== undefined) {
    value = evaluateDynamicField(`${field}Path`, path, raw, scope)
  }
  if (value === undefined) {
    return undefined
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

async function failState(run: Run): Promise<Omit<TestStateResult, 'inspectionData'>> {
  if (run.lang === 'JSONPath') {
    run.trace.afterInputPath = run.raw
  }
  const error = await failField(run, 'Error')
  const cause = await failField(run, 'Cause')
  return {
    status: 'FAILED',
    ...(error === undefined ? {} : { error }),
    ...(cause === undefined ? {} : { cause }),
  }
}

async function choiceState(run: Run): Promise<Omit<TestStateResult, 'inspectionData'>> {
  const { state, raw, scope, lang, states, trace } = run
  const effective = await effectiveInput(state, raw, scope, lang, states, trace)
  const choices = Array.isArray(state.Choices) ? (state.Choices as JsonValue[]) : []
  let chosen: JsonObject | undefined
  for (const choice of choices) {
    if (!isObject(choice)) {
      continue
    }
    if (lang === 'JSONata') {
      const condition = choice.Condition
      const value = isJsonataExpression(condition)
        ? await evaluateJsonataExpression(
            jsonataExpressionText(condition),
            { states, variable: scope.variable, random: scope.random },
            'Condition',
          )
        : condition
      if (value === true) {
        chosen = choice
        break
      }
    } else if (evaluateChoiceRule(choice, effective, scope)) {
      chosen = choice
      break
    }
  }
  const next = chosen === undefined ? state.Default : chosen.Next
  if (typeof next !== 'string') {
    throw new AslError('States.NoChoiceMatched', 'No Matches!')
  }
  const outputState = chosen?.Output === undefined ? state : { ...state, Output: chosen.Output }
  const output = await stateOutput(outputState, raw, effective, scope, lang, states, trace)
  await assign(run, chosen?.Assign ?? state.Assign, effective, {})
  return { status: 'SUCCEEDED', output, nextState: next }
}

async function numberField(run: Run, field: string, data: JsonValue): Promise<number | undefined> {
  const { state, scope, lang, states } = run
  let value: JsonValue | undefined = state[field] as JsonValue | undefined
  const path = state[`${field}Path`]
  if (lang === 'JSONata' && value !== undefined) {
    value = await evaluateJsonataTemplate(
      value,
      { states, variable: scope.variable, random: scope.random },
      field,
    )
  } else if (value === undefined && typeof path === 'string') {
    value = readPath(data, path, scope)
  }
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number') {
    throw new AslError(
      'States.Runtime',
      `The ${field} field refers to value ${JSON.stringify(value)} which is not a valid number`,
    )
  }
  return value
}

async function mockedState(run: Run): Promise<Omit<TestStateResult, 'inspectionData'>> {
  const { request, state, raw, scope, lang, states, trace } = run
  const effective = await effectiveInput(state, raw, scope, lang, states, trace)
  let thresholdExceeded = false
  if (state.Type === 'Map') {
    const items = await mapItems(state, effective, scope, lang, states, trace)
    trace.maxConcurrency = (await numberField(run, 'MaxConcurrency', effective)) ?? 0
    const count = await numberField(run, 'ToleratedFailureCount', effective)
    const percentage = await numberField(run, 'ToleratedFailurePercentage', effective)
    if (count !== undefined) {
      trace.toleratedFailureCount = count
    }
    if (percentage !== undefined) {
      trace.toleratedFailurePercentage = percentage
    }
    const failures = request.stateConfiguration?.mapIterationFailureCount ?? 0
    thresholdExceeded =
      (count !== undefined && failures > count) ||
      (percentage !== undefined && items.length > 0 && (failures / items.length) * 100 > percentage)
  }
  const mock = request.mock
  if (mock?.errorOutput !== undefined) {
    throw new AslError(mock.errorOutput.error, mock.errorOutput.cause)
  }
  if (mock === undefined || !('result' in mock) || mock.result === undefined) {
    throw invalid(`a ${state.Type} state needs a mock (result or errorOutput)`)
  }
  if (thresholdExceeded) {
    throw new AslError('States.ExceedToleratedFailureThreshold', EXCEEDED_CAUSE)
  }
  const result = mock.result
  const output = await stateOutput(state, raw, result, scope, lang, states, trace)
  await assign(run, state.Assign, result, { result })
  return { status: 'SUCCEEDED', output, ...nextOf(state) }
}

async function handleError(
  run: Run,
  error: AslError,
): Promise<Omit<TestStateResult, 'inspectionData'>> {
  const { state, raw, scope, lang, states, trace } = run
  const failed = {
    status: 'FAILED' as const,
    error: error.error,
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  }
  const canHandle = state.Type === 'Task' || state.Type === 'Map' || state.Type === 'Parallel'
  if (!canHandle) {
    return failed
  }
  const retriers: readonly Retrier[] = state.Retry ?? []
  const retryIndex = decidingRetrier(retriers, error.error)
  const retrier = retriers[retryIndex]
  if (retrier !== undefined) {
    const done = run.request.stateConfiguration?.retrierRetryCount ?? 0
    if (allowsRetry(retrier, done)) {
      trace.errorDetails = {
        retryBackoffIntervalSeconds: retryDelayMs(retrier, done + 1, scope.random) / 1000,
        retryIndex,
      }
      return { ...failed, status: 'RETRIABLE' }
    }
    trace.errorDetails = { retryIndex }
  }
  const catchers: readonly Catcher[] = state.Catch ?? []
  const catchIndex = catchers.findIndex((c) => errorMatches(c.ErrorEquals, error.error))
  const catcher = catchers[catchIndex]
  if (catcher === undefined) {
    return failed
  }
  trace.errorDetails = { ...trace.errorDetails, catchIndex }
  const errorOutput = {
    Error: error.error,
    ...(error.cause === undefined ? {} : { Cause: error.cause }),
  }
  const output = await catcherOutput(catcher, raw, errorOutput, scope, lang, states)
  await assign(run, catcher.Assign, errorOutput, { errorOutput })
  return { ...failed, status: 'CAUGHT_ERROR', output, nextState: catcher.Next }
}
