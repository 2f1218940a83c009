import { expect, test } from 'vitest'
import { isStratoError } from '../../core/index.js'
import { validateDefinition } from './validate-definition.js'

function problemOf(definition: unknown): string {
  try {
    validateDefinition(definition)
  } catch (error) {
    if (isStratoError(error, 'FLOW_INVALID_DEFINITION')) {
      return error.message
    }
    throw error
  }
  return 'valid'
}

const pass = { Type: 'Pass', End: true }

function machine(states: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { StartAt: Object.keys(states)[0], States: states, ...extra }
}

test('a well-formed machine with every state type is returned as it is', () => {
  const definition = machine({
    Start: { Type: 'Pass', Result: { a: 1 }, ResultPath: '$.r', Next: 'Call' },
    Call: {
      Type: 'Task',
      Resource: 'urn:fss:fn',
      TimeoutSeconds: 10,
      HeartbeatSeconds: 5,
      Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 2 }, { ErrorEquals: ['States.ALL'] }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed', ResultPath: '$.error' }],
      Next: 'Check',
    },
    Check: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.r.a', NumericEquals: 1, Next: 'Wait' },
        {
          And: [
            { Variable: '$.x', IsPresent: true },
            { Not: { Variable: '$.x', StringEquals: 'y' } },
          ],
          Next: 'Fan',
        },
      ],
      Default: 'Done',
    },
    Wait: { Type: 'Wait', SecondsPath: '$.wait', Next: 'Fan' },
    Fan: {
      Type: 'Parallel',
      Branches: [{ StartAt: 'B', States: { B: pass } }],
      Next: 'Each',
    },
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      MaxConcurrency: 2,
      ItemProcessor: { StartAt: 'Item', States: { Item: pass } },
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
    Failed: { Type: 'Fail', Error: 'Broken', CausePath: '$.error.Cause' },
  })
  expect(validateDefinition(definition)).toBe(definition)
})

test('StartAt and every transition must name a state of their scope', () => {
  expect(problemOf({ StartAt: 'Nowhere', States: { A: pass } })).toBe(
    'The definition: StartAt "Nowhere" is not a state',
  )
  expect(problemOf(machine({ A: { Type: 'Pass', Next: 'Gone' } }))).toBe(
    'State "A": Next "Gone" is not a state',
  )
  expect(
    problemOf(
      machine({
        Check: { Type: 'Choice', Choices: [{ Variable: '$.a', IsNull: true, Next: 'Nowhere' }] },
      }),
    ),
  ).toBe('State "Check": Choices[0].Next "Nowhere" is not a state')
  expect(
    problemOf(
      machine({
        C: {
          Type: 'Choice',
          Choices: [{ Variable: '$.a', IsNull: true, Next: 'C' }],
          Default: 'X',
        },
      }),
    ),
  ).toBe('State "C": Default "X" is not a state')
  // A branch cannot jump to a state outside itself.
  expect(
    problemOf(
      machine({
        Fan: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'B', States: { B: { Type: 'Pass', Next: 'Fan' } } }],
          End: true,
        },
      }),
    ),
  ).toBe('State "B": Next "Fan" is not a state')
  expect(
    problemOf(
      machine({
        T: {
          Type: 'Task',
          Resource: 'fn',
          End: true,
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Z' }],
        },
      }),
    ),
  ).toBe('State "T": Catch[0].Next "Z" is not a state')
})

test('a state needs exactly one of Next and End, and Succeed/Fail/Choice need neither', () => {
  expect(problemOf(machine({ A: { Type: 'Pass' } }))).toBe(
    'State "A": exactly one of Next and End: true is needed',
  )
  expect(problemOf(machine({ A: { Type: 'Pass', End: true, Next: 'A' } }))).toBe(
    'State "A": exactly one of Next and End: true is needed',
  )
  expect(problemOf(machine({ A: { Type: 'Succeed', Next: 'A' } }))).toBe(
    'State "A": field Next is not allowed in a Succeed state',
  )
})

test('state names are unique across branches and at most 80 characters', () => {
  expect(
    problemOf(
      machine({
        A: { Type: 'Parallel', Branches: [{ StartAt: 'A', States: { A: pass } }], End: true },
      }),
    ),
  ).toBe('State "A": the name is used by another state')
  const long = 'x'.repeat(81)
  expect(problemOf(machine({ [long]: pass }))).toBe(
    `State "${long}": a state name has 1 to 80 characters`,
  )
})

test('fields are checked per state type and per query language', () => {
  expect(problemOf(machine({ A: { Type: 'Wait', Seconds: 1, Result: 1, End: true } }))).toBe(
    'State "A": field Result is not allowed in a Wait state',
  )
  expect(problemOf(machine({ A: { Type: 'Lambda', End: true } }))).toMatch(
    /^State "A": Type must be one of/,
  )
  expect(
    problemOf(
      machine({ A: { Type: 'Pass', QueryLanguage: 'JSONata', InputPath: '$.a', End: true } }),
    ),
  ).toBe('State "A": field InputPath is not allowed in a JSONata state (use Arguments/Output)')
  expect(problemOf(machine({ A: { Type: 'Pass', Output: {}, End: true } }))).toBe(
    'State "A": field Output needs QueryLanguage JSONata',
  )
})

test('a JSONata machine cannot downgrade a state to JSONPath', () => {
  expect(
    problemOf(
      machine(
        { A: { Type: 'Pass', QueryLanguage: 'JSONPath', End: true } },
        { QueryLanguage: 'JSONata' },
      ),
    ),
  ).toBe('State "A": QueryLanguage cannot be JSONPath inside a JSONata state machine')
  expect(problemOf(machine({ A: { Type: 'Pass', QueryLanguage: 'JSONata', End: true } }))).toBe(
    'valid',
  )
})

test('a JSONata expression must parse', () => {
  expect(
    problemOf(
      machine(
        { A: { Type: 'Pass', Output: { x: '{% $states.input.( %}' }, End: true } },
        { QueryLanguage: 'JSONata' },
      ),
    ),
  ).toMatch(/^State "A": Output\.x holds an invalid JSONata expression/)
})

test('Wait has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath', () => {
  expect(problemOf(machine({ W: { Type: 'Wait', End: true } }))).toBe(
    'State "W": exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is needed',
  )
  expect(
    problemOf(machine({ W: { Type: 'Wait', Seconds: 1, SecondsPath: '$.s', End: true } })),
  ).toBe('State "W": exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is needed')
  expect(problemOf(machine({ W: { Type: 'Wait', Seconds: -1, End: true } }))).toBe(
    'State "W": Seconds must be an integer from 0 to 99999999',
  )
  expect(problemOf(machine({ W: { Type: 'Wait', Timestamp: 'tomorrow', End: true } }))).toBe(
    'State "W": Timestamp must be an ISO-8601 timestamp',
  )
})

test('Retry and Catch: ranges, and States.ALL alone and last', () => {
  const task = (extra: Record<string, unknown>): unknown =>
    machine({ T: { Type: 'Task', Resource: 'fn', End: true, ...extra }, H: pass })
  expect(problemOf(task({ Retry: [{ ErrorEquals: ['States.ALL', 'Boom'] }] }))).toBe(
    'State "T": Retry[0].ErrorEquals: States.ALL must appear alone',
  )
  expect(
    problemOf(task({ Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['Boom'] }] })),
  ).toBe('State "T": Retry[0].ErrorEquals: States.ALL must be in the last one')
  expect(problemOf(task({ Retry: [{ ErrorEquals: [] }] }))).toBe(
    'State "T": Retry[0].ErrorEquals must be a non-empty array of error names',
  )
  expect(problemOf(task({ Retry: [{ ErrorEquals: ['Boom'], BackoffRate: 0.5 }] }))).toBe(
    'State "T": Retry[0].BackoffRate must be a number ≥ 1.0',
  )
  expect(problemOf(task({ Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: -1 }] }))).toBe(
    'State "T": Retry[0].MaxAttempts must be an integer from 0 to 99999999',
  )
  expect(problemOf(task({ Retry: [{ ErrorEquals: ['Boom'], JitterStrategy: 'SOME' }] }))).toBe(
    'State "T": Retry[0].JitterStrategy must be FULL or NONE',
  )
  expect(
    problemOf(
      task({
        Catch: [
          { ErrorEquals: ['States.ALL'], Next: 'H' },
          { ErrorEquals: ['X'], Next: 'H' },
        ],
      }),
    ),
  ).toBe('State "T": Catch[0].ErrorEquals: States.ALL must be in the last one')
  expect(problemOf(task({ HeartbeatSeconds: 10, TimeoutSeconds: 10 }))).toBe(
    'State "T": HeartbeatSeconds must be smaller than TimeoutSeconds',
  )
})

test('ResultPath must be a reference path', () => {
  expect(problemOf(machine({ A: { Type: 'Pass', ResultPath: '$..a', End: true } }))).toBe(
    'State "A": ResultPath "$..a" must be a reference path (no "..", "*", filters or slices)',
  )
  expect(problemOf(machine({ A: { Type: 'Pass', ResultPath: 'a', End: true } }))).toBe(
    'State "A": ResultPath must be a path starting with $',
  )
})

test('Choice rules: one operator with a Variable, no Next on nested rules', () => {
  const choice = (rule: Record<string, unknown>): unknown =>
    machine({ C: { Type: 'Choice', Choices: [{ Next: 'D', ...rule }] }, D: pass })
  expect(problemOf(choice({ Variable: '$.a', StringEquals: 'x', NumericEquals: 1 }))).toBe(
    'State "C": Choices[0]: a rule needs exactly one of And, Or, Not or a comparison operator',
  )
  expect(problemOf(choice({ StringEquals: 'x' }))).toBe(
    'State "C": Choices[0].Variable must be a path starting with $',
  )
  expect(problemOf(choice({ Variable: '$.a', NumericEquals: '1' }))).toBe(
    'State "C": Choices[0].NumericEquals must be a number',
  )
  expect(problemOf(choice({ Not: { Variable: '$.a', IsNull: true, Next: 'D' } }))).toBe(
    'State "C": Choices[0].Not: a nested rule cannot have Next',
  )
  expect(problemOf(choice({ And: [{ Variable: '$.a', StringEqualz: 'x' }] }))).toBe(
    'State "C": Choices[0].And[0]: a rule needs exactly one of And, Or, Not or a comparison operator',
  )
})

test('Strato extensions: CompletionType atLeast needs NumCompleted within the branch count', () => {
  const parallel = (extra: Record<string, unknown>): unknown =>
    machine({
      P: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'X', States: { X: pass } },
          { StartAt: 'Y', States: { Y: pass } },
        ],
        End: true,
        ...extra,
      },
    })
  expect(
    problemOf(parallel({ 'Strato.CompletionType': 'atLeast', 'Strato.NumCompleted': 1 })),
  ).toBe('valid')
  expect(
    problemOf(parallel({ 'Strato.CompletionType': 'atLeast', 'Strato.NumCompleted': 3 })),
  ).toBe('State "P": Strato.NumCompleted must be an integer from 1 to 2')
  expect(problemOf(parallel({ 'Strato.CompletionType': 'anyOf' }))).toBe(
    'State "P": Strato.CompletionType must be allOf or atLeast',
  )
  expect(
    problemOf(
      machine({ T: { Type: 'Task', Resource: 'fn', 'Strato.Callback': 'yes', End: true } }),
    ),
  ).toBe('State "T": Strato.Callback must be a boolean')
  expect(problemOf(machine({ A: { Type: 'Pass', 'Strato.Node': { id: 'n1' }, End: true } }))).toBe(
    'State "A": Strato.Node must be an object with string id and name',
  )
  expect(
    problemOf(
      machine({
        A: { Type: 'Pass', Parameters: { 'x.$': 'Strato.FirstPresent($.a, 1)' }, End: true },
      }),
    ),
  ).toBe('valid')
  expect(problemOf(machine({ A: { Type: 'Pass', Parameters: { 'x.$': 'a' }, End: true } }))).toBe(
    'State "A": Parameters.x.$ must hold a path or an intrinsic function',
  )
})

test('distributed-only Map fields that the engine does not run are refused', () => {
  const map = (extra: Record<string, unknown>): unknown =>
    machine({
      M: {
        Type: 'Map',
        ItemProcessor: { StartAt: 'I', States: { I: pass } },
        End: true,
        ...extra,
      },
    })
  expect(problemOf(map({}))).toBe('valid')
  expect(problemOf(map({ ItemBatcher: { MaxItemsPerBatch: 2 } }))).toBe(
    'State "M": ItemBatcher (distributed Map) is not supported',
  )
  expect(problemOf(map({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject' } }))).toBe(
    'State "M": ItemReader (distributed Map) is not supported',
  )
})

test('a definition that is not an object, has no states or an unknown top-level field, is refused', () => {
  expect(problemOf({ StartAt: 'A', States: { A: pass }, Timeout: 3 })).toBe(
    'The definition: field Timeout is not allowed at the top level',
  )
  expect(problemOf('{}')).toBe('The definition must be a JSON object')
  expect(problemOf({ StartAt: 'A', States: {} })).toBe(
    'The definition: States must be an object with at least one state',
  )
})
