import { expect, test } from 'vitest'
import type { JsonObject } from '../asl/definition.js'
import { compileHuaweiWorkflow } from './compile-workflow.js'
import { body, op, refusal } from './huawei-test-bodies.js'

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
