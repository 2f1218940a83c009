import { expect, test } from 'vitest'
import { isStratoError } from '../../core/index.js'
import type { JsonObject } from '../asl/definition.js'
import {
  compileAslWorkflowBody,
  compileHuaweiWorkflow,
  isAslWorkflowBody,
} from './compile-workflow.js'

const F = 'urn:fss:cn-north-7:p0:function:default:f:latest'
const G = 'urn:fss:cn-north-7:p0:function:default:g:latest'

function body(states: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    name: 'flow_1',
    start: states[0]?.['id'] ?? '',
    constants: {},
    retries: [{ name: 'r1', delay: 2, max_attempts: 4 }],
    functions: [
      { name: 'f', operation: F },
      { name: 'g', operation: G },
    ],
    states,
    ...extra,
  }
}

const op = (id: string, rest: JsonObject = {}): JsonObject => ({
  id,
  name: id.toLowerCase(),
  type: 'Operation',
  actions: [{ function_ref: { ref_name: 'f' } }],
  end: true,
  transition: '',
  ...rest,
})

/** The FLOW_INVALID_DEFINITION detail the body is refused with. */
function refusal(raw: unknown): string {
  try {
    compileHuaweiWorkflow(raw)
  } catch (err) {
    if (isStratoError(err, 'FLOW_INVALID_DEFINITION')) {
      return err.message
    }
    throw err
  }
  throw new Error('the body was accepted')
}

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

test('constants become the CONST variable, assigned before the start node', () => {
  const compiled = compileHuaweiWorkflow(
    body(
      [
        op('Call', {
          actions: [{ function_ref: { ref_name: 'f', arguments: { b: '$.b | $CONST.b' } } }],
        }),
      ],
      { constants: { b: 'x' } },
    ),
  )
  expect(compiled.ir.StartAt).toBe('Call:constants')
  expect(compiled.ir.States['Call:constants']).toEqual({
    Type: 'Pass',
    Assign: { CONST: { b: 'x' } },
    Next: 'Call',
    'Strato.Node': { id: 'Call', name: 'call' },
  })
  expect(compiled.ir.States['Call']?.Parameters).toEqual({
    'b.$': 'Strato.FirstPresent($.b, $CONST.b)',
  })
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

test('states not reachable from start are validated but left out of the IR', () => {
  const compiled = compileHuaweiWorkflow(body([op('A'), op('Orphan')]))
  expect(Object.keys(compiled.ir.States)).toEqual(['A'])
  expect(refusal(body([op('A'), op('Orphan', { type: 'Nope' })]))).toMatch(/state "Orphan": type/)
})

test.each([
  [{ name: 'bad name!' }, /^name "bad name!" must be 1 to 64 letters/],
  [{ name: 'x'.repeat(65) }, /^name .* must be 1 to 64/],
  [{ mode: 'FAST' }, /^mode must be one of NORMAL, EXPRESS$/],
  [{ description: 'd'.repeat(513) }, /^description must have at most 512 characters$/],
  [{ constants: undefined }, /^constants is required$/],
  [{ constants: { 'k.$': 1 } }, /constants\.k\.\$: a constant's key must not end with "\.\$"/],
  [
    { functions: [{ name: 'f', operation: 'arn:aws:x' }] },
    /^functions\[0\]\.operation .* is not a function URN/,
  ],
  [
    { retries: [{ name: 'r1', delay: 31 }] },
    /^retries\[0\]\.delay must be an integer from 1 to 30$/,
  ],
  [
    { retries: [{ name: 'r1', max_attempts: 9 }] },
    /^retries\[0\]\.max_attempts must be an integer from 1 to 8$/,
  ],
  [
    { retries: [{ name: 'r1' }, { name: 'r1' }] },
    /^retries\[1\]\.name "r1" is used by another retry policy$/,
  ],
  [{ start: 'Nowhere' }, /^start "Nowhere" is not a state id of states$/],
  [{ states: [] }, /^states must have 1 to 100 entries$/],
])('a body with %o is refused: %s', (override, expected) => {
  expect(refusal(body([op('A')], override as JsonObject))).toMatch(expected)
})

test.each([
  [op('A', { id: 'A' }), op('A'), /^state "A": id "A" is used by another state$/],
  [
    op('A', { end: false, transition: 'X' }),
    op('B'),
    /^state "A": transition "X" is not a state id$/,
  ],
  [
    op('A', { end: true, transition: 'B' }),
    op('B'),
    /^state "A": transition "B" is set but end is true$/,
  ],
  [op('A', { actions: [] }), op('B'), /^state "A": actions must have 1 to 10 entries$/],
  [
    op('A', { actions: [{ function_ref: { ref_name: 'zzz' } }] }),
    op('B'),
    /^state "A": actions\[0\]\.function_ref\.ref_name "zzz" is not the name of a functions entry$/,
  ],
  [
    op('A', { actions: [{ function_ref: { ref_name: 'f', arguments: { a: '$x.y' } } }] }),
    op('B'),
    /^state "A": actions\[0\]\.function_ref\.arguments\.a "\$x\.y" is not a JSONPath/,
  ],
  [
    op('A', { actions: [{ function_ref: { ref_name: 'f', arguments: { a: '$.a | maybe' } } }] }),
    op('B'),
    /arguments\.a the fallback "maybe" must be a number/,
  ],
  [
    op('A', { on_errors: [{ error: '$.errorCode === 500', transition: 'B' }] }),
    op('B'),
    /^state "A": on_errors\[0\]\.error "\$\.errorCode === 500": .* at position 14$/,
  ],
  [
    op('A', { on_errors: [{ error: '$.errorCode == 500', retry_ref: 'nope' }] }),
    op('B'),
    /^state "A": on_errors\[0\]\.retry_ref "nope" is not the name of a retries entry$/,
  ],
  [
    op('A', { on_errors: [{ error: '$.errorCode == 500', transition: 'Z' }] }),
    op('B'),
    /^state "A": on_errors\[0\]\.transition "Z" is not a state id$/,
  ],
  [
    op('A', { type: 'Sleep', duration: 0, actions: [] }),
    op('B'),
    /^state "A": duration must be a number from 0\.001 to 86400$/,
  ],
  [op('A', { timeout: 1.5 }), op('B'), /^state "A": timeout must be an integer/],
  [
    op('A', { type: 'Sleep', duration: 1 }),
    op('B'),
    /^state "A": actions must be empty in a Sleep state$/,
  ],
  [
    op('A', { type: 'End', actions: [], on_errors: [{ error: '$.a == 1' }] }),
    op('B'),
    /^state "A": on_errors is allowed on Operation, Parallel and Foreach states, not on End$/,
  ],
  [
    {
      id: 'A',
      name: 'a',
      type: 'Switch',
      data_conditions: [{ condition: '$.a == 1', transition: 'Q' }],
      default_condition: { end: true },
    },
    op('B'),
    /^state "A": data_conditions\[0\]\.transition "Q" is not a state id$/,
  ],
  [
    { id: 'A', name: 'a', type: 'Switch', data_conditions: [{ condition: '$.a == 1', end: true }] },
    op('B'),
    /^state "A": default_condition is required$/,
  ],
  [
    {
      id: 'A',
      name: 'a',
      type: 'Parallel',
      branches: [{ actions: [{ function_ref: { ref_name: 'f' } }] }],
      completion_type: 'atLeast',
      num_completed: 2,
      end: true,
    },
    op('B'),
    /^state "A": num_completed must be an integer from 1 to 1$/,
  ],
  [
    {
      id: 'A',
      name: 'a',
      type: 'Foreach',
      actions: [{ function_ref: { ref_name: 'f' } }],
      end: true,
    },
    op('B'),
    /^state "A": input_collection is required/,
  ],
  [
    {
      id: 'A',
      name: 'a',
      type: 'Foreach',
      input_collection: '$.x',
      actions: [{ function_ref: { ref_name: 'f', invoke_mode: 'async' } }],
      end: true,
    },
    op('B'),
    /^state "A": actions\[0\]\.function_ref\.invoke_mode "async" is not allowed inside a Foreach/,
  ],
])('a state is refused with its id and field named: %#', (first, second, expected) => {
  expect(refusal(body([first, second]))).toMatch(expected)
})

test('a cycle of transitions is refused (flows are DAGs; a Foreach loops)', () => {
  const message = refusal(
    body([
      op('A', { end: false, transition: 'B' }),
      op('B', { end: false, transition: 'C', on_errors: [{ error: '$.x == 1', transition: 'A' }] }),
      op('C'),
    ]),
  )
  expect(message).toBe(
    'state "A": the transitions form a cycle (A → B → A); a flow must be a DAG (loop with a Foreach state)',
  )
})

test('a transition out of a branch to an outer state is refused', () => {
  const message = refusal(
    body([
      {
        id: 'Fan',
        name: 'fan',
        type: 'Parallel',
        branches: [{ start: 'In', states: [op('In', { end: false, transition: 'Out' })] }],
        transition: 'Out',
      },
      op('Out'),
    ]),
  )
  expect(message).toBe('state "In": transition "Out" is not a state id of the same sub-flow')
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
