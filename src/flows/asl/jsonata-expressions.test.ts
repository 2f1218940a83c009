import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { seededRandom } from './intrinsics.js'
import {
  evaluateJsonataTemplate,
  isJsonataExpression,
  type JsonataBindings,
} from './jsonata-expressions.js'

function bindings(variables: Record<string, JsonValue> = {}, seed = 1): JsonataBindings {
  return {
    states: { input: { items: [1, 2, 3], name: 'n' }, context: { Execution: { Name: 'run-1' } } },
    variable: (name) => variables[name],
    random: seededRandom(seed),
  }
}

async function failure(template: JsonValue, field: string): Promise<AslError> {
  try {
    await evaluateJsonataTemplate(template, bindings(), field)
  } catch (error) {
    if (error instanceof AslError) {
      return error
    }
    throw error
  }
  throw new Error('expected an AslError')
}

test('only a whole "{% … %}" string is an expression', () => {
  expect(isJsonataExpression('{% 1 + 1 %}')).toBe(true)
  expect(isJsonataExpression(' {% 1 %}')).toBe(false)
  expect(isJsonataExpression('text')).toBe(false)
  expect(isJsonataExpression(3)).toBe(false)
})

test('a template is walked: expressions see $states and variables, literals stay', async () => {
  const out = await evaluateJsonataTemplate(
    {
      sum: '{% $sum($states.input.items) %}',
      who: '{% $user %}',
      run: '{% $states.context.Execution.Name %}',
      list: ['{% $states.input.name %}', 2],
      plain: 'x',
    },
    bindings({ user: { id: 7 } }),
    'Output',
  )
  expect(out).toEqual({ sum: 6, who: { id: 7 }, run: 'run-1', list: ['n', 2], plain: 'x' })
})

test('the Step Functions functions are bound', async () => {
  const out = await evaluateJsonataTemplate(
    {
      partition: '{% $partition([1,2,3], 2) %}',
      range: '{% $range(0, 6, 3) %}',
      hash: "{% $hash('input data', 'MD5') %}",
      parse: '{% $parse(\'{"a": [1]}\') %}',
    },
    bindings(),
  )
  expect(out).toEqual({
    partition: [[1, 2], [3]],
    range: [0, 3, 6],
    hash: '812f45842bc6d66ee14572ce20db8e86',
    parse: { a: [1] },
  })
})

test('$uuid and $random follow the caller random stream', async () => {
  const a = await evaluateJsonataTemplate(['{% $uuid() %}', '{% $random() %}'], bindings({}, 5))
  const b = await evaluateJsonataTemplate(['{% $uuid() %}', '{% $random() %}'], bindings({}, 5))
  const c = await evaluateJsonataTemplate(['{% $uuid() %}', '{% $random() %}'], bindings({}, 6))
  expect(a).toEqual(b)
  expect(a).not.toEqual(c)
})

test('nothing from an expression is a QueryEvaluationError naming the nested field', async () => {
  const error = await failure({ result: '{% $doesNotExist %}' }, 'Output')
  expect(error.error).toBe('States.QueryEvaluationError')
  expect(error.cause).toBe(
    "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).",
  )
})

test('an evaluation error carries the JSONata code; $eval is unavailable', async () => {
  const error = await failure({ FunctionResult: '{% $randomSeeded(1) %}' }, 'Output')
  expect(error.cause).toBe(
    "The JSONata expression '$randomSeeded(1)' specified for the field 'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function",
  )
  expect((await failure("{% $eval('1 + 1') %}", 'Output')).error).toBe(
    'States.QueryEvaluationError',
  )
})

test('a function as a result is an unsupported result type', async () => {
  const error = await failure('{% function($x){$x} %}', 'Items')
  expect(error.cause).toContain('returned an unsupported result type.')
})

test('$now and $millis report the given entry time, so a replay sees the same', async () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5)
  const out = await evaluateJsonataTemplate(['{% $now() %}', '{% $millis() %}'], {
    ...bindings(),
    now: at,
  })
  expect(out).toEqual(['2026-01-02T03:04:05.000Z', at])
})
