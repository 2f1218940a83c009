/**
 * Runs the corpus cases whose machines have only Pass, Choice, Succeed and Fail states (all of
 * `choice_operators.json` and `intrinsic_functions.json`, part of seven other files) through
 * a minimal stepper built only on state-io, choice-rules and jsonata-expressions, so a regression
 * there shows up here and not only through the interpreter.
 */
import { expect, test } from 'vitest'
import {
  jsonDifferences,
  loadCorpus,
  placeholderPointers,
} from '../../../test/helpers/asl-corpus.js'
import { AslError } from './asl-error.js'
import { evaluateChoiceRule } from './choice-rules.js'
import type { AslDefinition, JsonObject, JsonValue, StateBase } from './definition.js'
import { seededRandom } from './intrinsics.js'
import {
  evaluateJsonataExpression,
  evaluateJsonataTemplate,
  isJsonataExpression,
  jsonataExpressionText,
} from './jsonata-expressions.js'
import { evaluateDynamicField } from './payload-template.js'
import type { PathScope } from './json-path.js'
import {
  effectiveInput,
  evaluateAssign,
  jsonataStates,
  passResult,
  stateLanguage,
  stateOutput,
} from './state-io.js'

interface ExecutionCase {
  readonly name: string
  readonly definition: AslDefinition
  readonly input?: JsonValue
  readonly expect: JsonObject
  readonly placeholders?: readonly string[]
}

type Outcome =
  { status: 'SUCCEEDED'; output: JsonValue } | { status: 'FAILED'; error?: string; cause?: string }

function executionContext(input: JsonValue, stateName: string): JsonObject {
  return {
    Execution: {
      Id: 'arn:aws:states:us-east-1:123456789012:execution:machine-name:run-1',
      Input: input,
      Name: 'run-1',
      RoleArn: 'arn:aws:iam::123456789012:role/flows',
      StartTime: '2026-01-01T00:00:00.000Z',
      RedriveCount: 0,
    },
    StateMachine: {
      Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:machine-name',
      Name: 'machine-name',
    },
    State: { Name: stateName, EnteredTime: '2026-01-01T00:00:00.000Z' },
  }
}

async function run(definition: AslDefinition, input: JsonValue): Promise<Outcome> {
  const variables = new Map<string, JsonValue>()
  let name = definition.StartAt
  let raw = input
  let eventId = 2
  for (;;) {
    let state = definition.States[name]
    if (state === undefined) {
      throw new Error(`no state ${name}`)
    }
    const lang = stateLanguage(state, definition.QueryLanguage)
    const context = executionContext(input, name)
    const scope: PathScope = {
      context,
      variable: (n) => variables.get(n),
      random: seededRandom(eventId),
    }
    const states = jsonataStates(raw, context)
    try {
      const effective = await effectiveInput(state, raw, scope, lang, states)
      let next = state.Next
      let assign = state.Assign
      let chosen: JsonObject | undefined
      if (state.Type === 'Choice') {
        const choices = (state.Choices ?? []) as JsonObject[]
        const match = await firstMatch(choices, effective, scope, lang, states)
        chosen = match
        next = match === undefined ? (state.Default as string | undefined) : (match.Next as string)
        if (match?.Assign !== undefined) {
          assign = match.Assign as JsonObject
        }
        if (next === undefined) {
          return { status: 'FAILED', error: 'States.NoChoiceMatched' }
        }
      } else if (state.Type === 'Fail') {
        const error = await failField(state, 'Error', raw, scope, lang, states)
        const cause = await failField(state, 'Cause', raw, scope, lang, states)
        return {
          status: 'FAILED',
          ...(error === undefined ? {} : { error }),
          ...(cause === undefined ? {} : { cause }),
        }
      } else if (state.Type !== 'Pass' && state.Type !== 'Succeed') {
        throw new Error(`the stepper runs Pass, Choice, Succeed and Fail only, not ${state.Type}`)
      }
      const result = state.Type === 'Pass' ? passResult(state, effective) : effective
      if (state.Type === 'Choice' && chosen?.Output !== undefined) {
        state = { ...state, Output: chosen.Output }
      }
      const assigned =
        assign === undefined
          ? {}
          : await evaluateAssign(assign, result, scope, lang, { ...states, result })
      raw = await stateOutput(state, raw, result, scope, lang, states)
      for (const [k, v] of Object.entries(assigned)) {
        variables.set(k, v)
      }
      if (state.Type === 'Succeed' || state.End === true) {
        return { status: 'SUCCEEDED', output: raw }
      }
      if (next === undefined) {
        throw new Error(`state ${name} has no Next`)
      }
      name = next
      eventId += 2
    } catch (error) {
      if (!(error instanceof AslError)) {
        throw error
      }
      return {
        status: 'FAILED',
        error: error.error,
        cause: `An error occurred while executing the state '${name}' (entered at the event id #${eventId}). ${error.cause ?? ''}`,
      }
    }
  }
}

async function firstMatch(
  choices: readonly JsonObject[],
  input: JsonValue,
  scope: PathScope,
  lang: string,
  states: JsonObject,
): Promise<JsonObject | undefined> {
  for (const choice of choices) {
    if (lang === 'JSONata') {
      const condition = choice.Condition
      const value = isJsonataExpression(condition)
        ? await evaluateJsonataExpression(jsonataExpressionText(condition), {
            states,
            variable: scope.variable,
            random: scope.random,
          })
        : condition
      if (value === true) {
        return choice
      }
    } else if (evaluateChoiceRule(choice, input, scope)) {
      return choice
    }
  }
  return undefined
}

async function failField(
  state: StateBase,
  field: 'Error' | 'Cause',
  raw: JsonValue,
  scope: PathScope,
  lang: string,
  states: JsonObject,
): Promise<string | undefined> {
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
  return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value)
}

function runnable(definition: AslDefinition): boolean {
  return Object.values(definition.States).every((s) =>
    ['Pass', 'Choice', 'Succeed', 'Fail'].includes(s.Type),
  )
}

/** Every corpus file with machines of only Pass, Choice, Succeed and Fail states. */
const FILES = [
  'choice_operators.json',
  'intrinsic_functions.json',
  'assign.json',
  'base.json',
  'outputdecl.json',
  'context_object.json',
  'scenarios.json',
  'query_language.json',
  'evaluate_jsonata.json',
]
const results: Record<string, { passed: number; total: number }> = {}

for (const file of FILES) {
  const cases = loadCorpus<ExecutionCase>(file).filter((c) => runnable(c.definition))
  results[file] = { passed: 0, total: cases.length }
  for (const c of cases) {
    test(`${file}: ${c.name}`, async () => {
      const outcome = (await run(c.definition, c.input ?? {})) as unknown as JsonObject
      const wildcards = placeholderPointers(c.expect, c.placeholders)
      const diffs = jsonDifferences(c.expect, outcome, '', wildcards)
      expect(diffs).toEqual([])
      const tally = results[file]
      if (tally !== undefined) {
        tally.passed++
      }
    })
  }
}

test('report the data-flow corpus pass counts', () => {
  for (const [file, { passed, total }] of Object.entries(results)) {
    process.stdout.write(`data-flow corpus ${file}: ${passed} of ${total} passed\n`)
  }
  expect(Object.keys(results)).toHaveLength(FILES.length)
})
