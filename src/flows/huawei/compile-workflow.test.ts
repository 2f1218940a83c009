import { expect, test } from 'vitest'
import type { JsonObject } from '../asl/definition.js'
import {
  compileAslWorkflowBody,
  compileHuaweiWorkflow,
  isAslWorkflowBody,
} from './compile-workflow.js'
import { body, F, G, op, refusal } from './huawei-test-bodies.js'

test('the documented example body compiles, keeping name, mode and the called functions', () => {
  const compiled = compileHuaweiWorkflow({
    name: 'workflow_test',
    description: 'demo',
    mode: 'EXPRESS',
    enable_stream_response: true,
    express_config: { log_level: 'ALL' },
    start: 'test',
    functions: [{ name: 'test', operation: F, metadata: {} }],
    constants: { input: { bucket: 'default_bucket' } },
    retries: [{ name: 'retry-policy1', delay: 10, max_attempts: 5 }],
    triggers: [{ trigger_name: 't1', trigger_type: 'OBS', enabled: true, trigger_config: {} }],
    states: [
      {
        id: 'test',
        name: 'test',
        type: 'Operation',
        end: false,
        transition: 'wait1',
        action_mode: 'sequential',
        actions: [
          {
            function_ref: {
              ref_name: 'test',
              invoke_mode: 'synchronize',
              arguments: { execution_name: '$.test', n: 1, s: "'lit'" },
            },
          },
        ],
        state_data_filter: { input: '$', output: '$.body' },
        on_errors: [{ error: '$.errorCode == 500', transition: 'end', retry_ref: 'retry-policy1' }],
      },
      {
        id: 'wait1',
        name: 'wait1',
        type: 'Sleep',
        duration: 5,
        end: false,
        transition: 'end',
        actions: [],
      },
      {
        id: 'end',
        name: 'end',
        type: 'End',
        end: true,
        transition: '',
        actions: [],
        action_mode: '',
        state_data_filter: { input: '', output: '' },
      },
    ],
  })
  expect(compiled).toMatchObject({
    name: 'workflow_test',
    description: 'demo',
    mode: 'EXPRESS',
    enableStreamResponse: true,
    functionUrns: [F],
  })
  expect(compiled.ir.StartAt).toBe('test')
  expect(compiled.ir.States['test:call']).toMatchObject({
    Type: 'Task',
    Resource: F,
    Parameters: { 'execution_name.$': '$.test', n: 1, s: 'lit' },
    InputPath: '$.input',
    ResultPath: '$.value',
    OutputPath: '$.value.body',
    Next: 'wait1',
  })
  expect(compiled.ir.States['wait1']).toMatchObject({ Type: 'Wait', Seconds: 5, Next: 'end' })
  expect(compiled.ir.States['end']).toEqual({
    Type: 'Succeed',
    'Strato.Node': { id: 'end', name: 'end' },
  })
  // every generated state belongs to a node
  for (const state of Object.values(compiled.ir.States)) {
    expect(state['Strato.Node']).toBeDefined()
  }
  expect(compiled.ir.States['test:wait0']).toMatchObject({
    Seconds: 10,
    'Strato.Node': { id: 'test', name: 'test' },
  })
})

test('a node without on_errors is one Task with its filters, timeout and callback mode', () => {
  const compiled = compileHuaweiWorkflow(
    body([
      op('Call', {
        timeout: 30,
        actions: [{ function_ref: { ref_name: 'g', invoke_mode: 'async' } }],
        state_data_filter: { input: '$.in', output: '$.out' },
      }),
    ]),
  )
  expect(compiled.ir).toEqual({
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: G,
        TimeoutSeconds: 30,
        'Strato.Callback': true,
        'Strato.Node': { id: 'Call', name: 'call' },
        InputPath: '$.in',
        OutputPath: '$.out',
        End: true,
      },
    },
  })
  expect(compiled.functionUrns).toEqual([G])
})

test("constants are resolved when compiling: as values, fallbacks and Huawei's $.constants", () => {
  const constants = { b: 'x', deep: { list: [1, { "it's": true }] }, n: 0 }
  const compiled = compileHuaweiWorkflow(
    body(
      [
        op('Call', {
          actions: [
            {
              function_ref: {
                ref_name: 'f',
                arguments: {
                  plain: '$CONST.b',
                  object: '$CONST.deep',
                  indexed: '$CONST.deep.list[1]["it\'s"]',
                  fallback: '$.b | $CONST.b',
                  objectFallback: '$.d | $.constants.deep',
                  huawei: '$.constants.n',
                  constantFirst: '$CONST.missing | $.other',
                },
              },
            },
          ],
        }),
      ],
      { constants },
    ),
  )
  expect(compiled.ir.StartAt).toBe('Call')
  expect(compiled.ir.States['Call']?.Parameters).toEqual({
    plain: 'x',
    object: { list: [1, { "it's": true }] },
    indexed: true,
    'fallback.$': "Strato.FirstPresent($.b, 'x')",
    'objectFallback.$': `Strato.FirstPresent($.d, States.StringToJson('\\{"list":[1,\\{"it\\'s":true\\}]\\}'))`,
    'huawei.$': 'Strato.FirstPresent($.constants.n, 0)',
    'constantFirst.$': '$.other',
  })
  expect(
    refusal(
      body([
        op('Call', {
          actions: [{ function_ref: { ref_name: 'f', arguments: { a: '$.a | $CONST.nope' } } }],
        }),
      ]),
    ),
  ).toBe(
    'state "Call": actions[0].function_ref.arguments.a "$CONST.nope" names nothing in constants',
  )
})

test("fallback literals are written in intrinsic syntax with ' { } \\ escaped", () => {
  const compiled = compileHuaweiWorkflow(
    body([
      op('Call', {
        actions: [
          {
            function_ref: {
              ref_name: 'f',
              arguments: { s: "$.s | 'it\\'s {x}'", n: '$.n | -1.5', t: '$.t|true', u: 'plain' },
            },
          },
        ],
      }),
    ]),
  )
  expect(compiled.ir.States['Call']?.Parameters).toEqual({
    's.$': "Strato.FirstPresent($.s, 'it\\'s \\{x\\}')",
    'n.$': 'Strato.FirstPresent($.n, -1.5)',
    't.$': 'Strato.FirstPresent($.t, true)',
    u: 'plain',
  })
})

test('a Switch compiles to a Choice whose end branches reach a generated Succeed', () => {
  const compiled = compileHuaweiWorkflow(
    body([
      {
        id: 'Check',
        name: 'check',
        type: 'Switch',
        data_conditions: [
          { condition: '$.a > 1', transition: 'Next' },
          { condition: '$.a == 0', end: true },
        ],
        default_condition: { transition: { next_state: 'Next' } },
      },
      op('Next'),
    ]),
  )
  expect(compiled.ir.States['Check']).toMatchObject({
    Type: 'Choice',
    Choices: [{ Next: 'Next' }, { Next: 'Check:end' }],
    Default: 'Next',
  })
  expect(compiled.ir.States['Check:end']).toMatchObject({ Type: 'Succeed' })
})

test('Parallel completion and Foreach concurrency map to their IR fields', () => {
  const compiled = compileHuaweiWorkflow(
    body([
      {
        id: 'Fan',
        name: 'fan',
        type: 'Parallel',
        branches: [
          { actions: [{ function_ref: { ref_name: 'f' } }] },
          { actions: [{ function_ref: { ref_name: 'g' } }] },
        ],
        completion_type: 'atLeast',
        num_completed: 1,
        transition: 'Loop',
      },
      {
        id: 'Loop',
        name: 'loop',
        type: 'Foreach',
        input_collection: '$.items',
        iteration_param: '$.it',
        batch_size: 4,
        actions: [{ function_ref: { ref_name: 'f' } }],
        end: true,
      },
    ]),
  )
  const fan = compiled.ir.States['Fan']
  expect(fan).toMatchObject({ 'Strato.CompletionType': 'atLeast', 'Strato.NumCompleted': 1 })
  expect(fan?.['Branches']).toHaveLength(2)
  expect(compiled.ir.States['Loop']).toMatchObject({
    Type: 'Map',
    ItemsPath: '$.items',
    MaxConcurrency: 4,
    ItemSelector: { 'input.$': '$', item: { 'it.$': '$$.Map.Item.Value' } },
  })
})

test('an ASL body is recognised by its asl field and keeps the definition as sent', () => {
  const asl = {
    StartAt: 'P',
    States: {
      P: {
        Type: 'Parallel',
        Branches: [{ StartAt: 'T', States: { T: { Type: 'Task', Resource: F, End: true } } }],
        Next: 'M',
      },
      M: {
        Type: 'Map',
        ItemProcessor: { StartAt: 'U', States: { U: { Type: 'Task', Resource: G, End: true } } },
        Next: 'X',
      },
      X: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true },
    },
  }
  const raw = { name: 'asl_flow', mode: 'EXPRESS', asl }
  expect(isAslWorkflowBody(raw)).toBe(true)
  expect(isAslWorkflowBody(body([op('A')]))).toBe(false)
  const compiled = compileAslWorkflowBody(raw)
  expect(compiled).toEqual({
    name: 'asl_flow',
    description: '',
    mode: 'EXPRESS',
    enableStreamResponse: false,
    ir: asl,
    functionUrns: [F, G],
  })
  expect(() => compileAslWorkflowBody({ name: 'bad name', asl })).toThrow(/^name "bad name"/)
  expect(() => compileAslWorkflowBody({ name: 'n', asl: [] })).toThrow(/^asl must be an object/)
  expect(() => compileAslWorkflowBody({ name: 'n', asl, states: [] })).toThrow(
    'states cannot be given together with asl',
  )
})

test('a Sleep shorter than a second or fractional waits the next whole second', () => {
  const sleep = (duration: number): JsonObject => ({
    id: 'Nap',
    name: 'nap',
    type: 'Sleep',
    duration,
    end: true,
  })
  expect(compileHuaweiWorkflow(body([sleep(0.001)])).ir.States['Nap']?.['Seconds']).toBe(1)
  expect(compileHuaweiWorkflow(body([sleep(2.5)])).ir.States['Nap']?.['Seconds']).toBe(3)
  expect(compileHuaweiWorkflow(body([sleep(86400)])).ir.States['Nap']?.['Seconds']).toBe(86400)
})
