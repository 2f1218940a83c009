import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue, StateBase } from './definition.js'
import type { PathScope } from './json-path.js'
import {
  catcherOutput,
  effectiveInput,
  evaluateAssign,
  jsonataStates,
  mapItemContext,
  mapItemInput,
  mapItems,
  stateOutput,
  type StateIoTrace,
} from './state-io.js'

const context: JsonObject = { Execution: { Name: 'run-1' } }

function scopeWith(variables: Record<string, JsonValue> = {}, ctx: JsonValue = context): PathScope {
  return { context: ctx, variable: (n) => variables[n], random: () => 0.5 }
}

const states = jsonataStates({}, context)

test('JSONPath Task: InputPath, Parameters, ResultSelector, ResultPath into the raw input, OutputPath', async () => {
  const state: StateBase = {
    Type: 'Task',
    InputPath: '$.order',
    Parameters: { 'id.$': '$.id' },
    ResultSelector: { 'total.$': '$.sum' },
    ResultPath: '$.priced',
    OutputPath: '$.priced',
    End: true,
  }
  const raw = { order: { id: 'o1' }, other: 1 }
  const trace: StateIoTrace = {}
  const scope = scopeWith()
  const effective = await effectiveInput(state, raw, scope, 'JSONPath', states, trace)
  expect(effective).toEqual({ id: 'o1' })
  const output = await stateOutput(
    state,
    raw,
    { sum: 9, noise: true },
    scope,
    'JSONPath',
    states,
    trace,
  )
  expect(output).toEqual({ total: 9 })
  expect(trace).toEqual({
    input: raw,
    afterInputPath: { id: 'o1' },
    afterParameters: { id: 'o1' },
    result: { sum: 9, noise: true },
    afterResultSelector: { total: 9 },
    afterResultPath: { order: { id: 'o1' }, other: 1, priced: { total: 9 } },
  })
})

test('InputPath null and OutputPath null give {}; ResultPath null keeps the raw input', async () => {
  const scope = scopeWith()
  const a: StateBase = { Type: 'Pass', InputPath: null, End: true }
  expect(await effectiveInput(a, { x: 1 }, scope, 'JSONPath', states)).toEqual({})
  const b: StateBase = { Type: 'Pass', OutputPath: null, End: true }
  expect(await stateOutput(b, { x: 1 }, { y: 2 }, scope, 'JSONPath', states)).toEqual({})
  const c: StateBase = { Type: 'Task', ResultPath: null, End: true }
  expect(await stateOutput(c, { x: 1 }, { y: 2 }, scope, 'JSONPath', states)).toEqual({ x: 1 })
})

test('Choice, Wait and Succeed apply only InputPath and OutputPath', async () => {
  const state: StateBase = {
    Type: 'Succeed',
    InputPath: '$.a',
    OutputPath: '$.b',
    ResultPath: '$.ignored',
  }
  const scope = scopeWith()
  const effective = await effectiveInput(state, { a: { b: 3 } }, scope, 'JSONPath', states)
  expect(await stateOutput(state, { a: { b: 3 } }, effective, scope, 'JSONPath', states)).toBe(3)
})

test('JSONata: Arguments for a Task, Output over $states.result, default outputs', async () => {
  const scope = scopeWith({ factor: 2 })
  const task: StateBase = {
    Type: 'Task',
    Arguments: { n: '{% $states.input.n * $factor %}' },
    Output: { doubled: '{% $states.result.value %}', was: '{% $states.input.n %}' },
    End: true,
  }
  const raw = { n: 4 }
  const st = jsonataStates(raw, context)
  expect(await effectiveInput(task, raw, scope, 'JSONata', st)).toEqual({ n: 8 })
  expect(await stateOutput(task, raw, { value: 8 }, scope, 'JSONata', st)).toEqual({
    doubled: 8,
    was: 4,
  })
  const plainTask: StateBase = { Type: 'Task', End: true }
  expect(await stateOutput(plainTask, raw, 'result', scope, 'JSONata', st)).toBe('result')
  const pass: StateBase = { Type: 'Pass', End: true }
  expect(await stateOutput(pass, raw, 'ignored', scope, 'JSONata', st)).toEqual(raw)
})

test('a state output over 256 KiB is States.DataLimitExceeded', async () => {
  const state: StateBase = { Type: 'Pass', End: true }
  const big = 'x'.repeat(256 * 1024)
  await expect(stateOutput(state, {}, big, scopeWith(), 'JSONPath', states)).rejects.toMatchObject({
    error: 'States.DataLimitExceeded',
  })
  await expect(
    stateOutput(state, {}, 'x'.repeat(1000), scopeWith(), 'JSONPath', states),
  ).resolves.toHaveLength(1000)
})

test('a catcher puts the error output at its ResultPath (JSONPath) or evaluates Output (JSONata)', async () => {
  const error = { Error: 'E', Cause: 'why' }
  expect(
    await catcherOutput(
      { ErrorEquals: ['States.ALL'], Next: 'N' },
      { a: 1 },
      error,
      scopeWith(),
      'JSONPath',
      states,
    ),
  ).toEqual(error)
  expect(
    await catcherOutput(
      { ErrorEquals: ['States.ALL'], Next: 'N', ResultPath: '$.err' },
      { a: 1 },
      error,
      scopeWith(),
      'JSONPath',
      states,
    ),
  ).toEqual({ a: 1, err: error })
  expect(
    await catcherOutput(
      {
        ErrorEquals: ['States.ALL'],
        Next: 'N',
        Output: { e: '{% $states.errorOutput.Error %}', a: '{% $states.input.a %}' },
      },
      { a: 1 },
      error,
      scopeWith(),
      'JSONata',
      jsonataStates({ a: 1 }, context),
    ),
  ).toEqual({ e: 'E', a: 1 })
})

test('Assign values all see the variables from before the state', async () => {
  const scope = scopeWith({ count: 1 })
  const assigned = await evaluateAssign(
    { count: '{% $count + 1 %}', previous: '{% $count %}' },
    {},
    scope,
    'JSONata',
    jsonataStates({}, context),
  )
  expect(assigned).toEqual({ count: 2, previous: 1 })
  expect(
    await evaluateAssign({ 'v.$': '$.x', lit: 3 }, { x: 'r' }, scope, 'JSONPath', states),
  ).toEqual({ v: 'r', lit: 3 })
})

test('Map items: ItemsPath must point to an array; ItemSelector sees $$.Map.Item', async () => {
  const state: StateBase = {
    Type: 'Map',
    ItemsPath: '$.list',
    ItemSelector: { 'v.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index', 'k.$': '$.k' },
    End: true,
  }
  const effective = { list: ['a', 'b'], k: 1 }
  const trace: StateIoTrace = {}
  const items = await mapItems(state, effective, scopeWith(), 'JSONPath', states, trace)
  expect(trace.afterItemsPath).toEqual(['a', 'b'])
  const itemScope = scopeWith({}, mapItemContext(context, 1, items[1] ?? null))
  expect(
    await mapItemInput(state, items[1] ?? null, effective, itemScope, 'JSONPath', states),
  ).toEqual({ v: 'b', i: 1, k: 1 })
  const bad: StateBase = { Type: 'Map', ItemsPath: '$$', End: true }
  await expect(mapItems(bad, {}, scopeWith(), 'JSONPath', states)).rejects.toMatchObject({
    error: 'States.Runtime',
    cause: 'Reference path "$" must point to array.',
  })
})

test('JSONata Map Items that are not an array name the type AWS names', async () => {
  const state: StateBase = { Type: 'Map', Items: "{% 'string' %}", End: true }
  const error = await mapItems(state, {}, scopeWith(), 'JSONata', states).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(AslError)
  expect((error as AslError).cause).toBe(
    "The JSONata expression ''string'' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'string' for value: \"string\"",
  )
})
