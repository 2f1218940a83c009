import { expect, test } from 'vitest'
import type { JsonValue } from '../asl/definition.js'
import { echo, endState, field, flow, operation, runFlow } from './huawei-test-flows.js'
import type { FakeFunction } from './huawei-test-flows.js'

test('a Switch routes on a condition over the input and the default catches the rest', async () => {
  const body = flow([
    {
      id: 'Check',
      name: 'check',
      type: 'Switch',
      data_conditions: [
        { condition: "$.size > 10 && $.kind == 'big*'", transition: 'Big' },
        { condition: '$.size <= 10', transition: 'Small' },
      ],
      default_condition: { end: true },
    },
    operation('Big', 'f', { transition: 'End' }),
    operation('Small', 'g', { transition: 'End' }),
    endState,
  ])
  const tag =
    (name: string): FakeFunction =>
    () => ({ output: { by: name } })
  const functions = { f: tag('f'), g: tag('g') }
  const big = await runFlow(body, { size: 11, kind: 'bigger' }, functions)
  expect(big.outcome).toEqual({ status: 'SUCCEEDED', output: { by: 'f' } })
  const small = await runFlow(body, { size: 3 }, functions)
  expect(small.outcome).toEqual({ status: 'SUCCEEDED', output: { by: 'g' } })
  // size missing: every comparison is false (no error), so the default ends the flow
  const neither = await runFlow(body, { kind: 'bigger' }, functions)
  expect(neither.outcome).toEqual({ status: 'SUCCEEDED', output: { kind: 'bigger' } })
  expect(neither.nodes).toEqual(['Check', 'Check'])
})

test('a Parallel node runs its branches on the same input and outputs their results in order', async () => {
  const body = flow([
    {
      id: 'Fan',
      name: 'fan',
      type: 'Parallel',
      branches: [
        { name: 'one', actions: [{ function_ref: { ref_name: 'f' } }] },
        {
          name: 'two',
          start: 'Pause',
          states: [
            { id: 'Pause', name: 'pause', type: 'Sleep', duration: 3, transition: 'Second' },
            operation('Second', 'g', { end: true }),
          ],
        },
      ],
      transition: 'End',
    },
    endState,
  ])
  const run = await runFlow(
    body,
    { x: 2 },
    {
      f: (p) => ({ output: { f: field(p, 'x') } }),
      g: (p) => ({ output: { g: field(p, 'x') } }),
    },
  )
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: [{ f: 2 }, { g: 2 }] })
  expect(new Set(run.nodes)).toEqual(new Set(['Fan', 'Pause', 'Second', 'End']))
})

test('a Foreach runs its actions per item, with the item under iteration_param, results in order', async () => {
  const body = flow([
    {
      id: 'Loop',
      name: 'loop',
      type: 'Foreach',
      input_collection: '$.orders',
      iteration_param: 'order',
      output_collection: '$.totals',
      max_concurrency: 2,
      actions: [
        {
          function_ref: {
            ref_name: 'f',
            arguments: { qty: '$.order.qty', price: '$.order.price', currency: '$.currency' },
          },
        },
      ],
      transition: 'End',
    },
    endState,
  ])
  const orders = [
    { qty: 2, price: 5 },
    { qty: 1, price: 7 },
    { qty: 3, price: 1 },
  ]
  const run = await runFlow(
    body,
    { currency: 'EUR', orders },
    {
      f: (p) => {
        const o = p as { qty: number; price: number; currency: string }
        return { output: `${o.qty * o.price} ${o.currency}` }
      },
    },
  )
  expect(run.outcome).toEqual({
    status: 'SUCCEEDED',
    output: { currency: 'EUR', orders, totals: ['10 EUR', '7 EUR', '3 EUR'] },
  })
  expect(run.calls).toHaveLength(3)
})

test('a Sleep node waits its duration', async () => {
  const body = flow([
    { id: 'Nap', name: 'nap', type: 'Sleep', duration: 90, transition: 'Work', end: false },
    operation('Work', 'f', { end: true }),
  ])
  const run = await runFlow(body, { a: 1 }, { f: echo })
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: { a: 1 } })
  expect(run.elapsedMs).toBe(90_000)
  expect(run.nodes).toEqual(['Nap', 'Work'])
})

test('arguments map paths, literals, constants and fallbacks into the function input', async () => {
  const body = flow(
    [
      operation('Copy', 'f', {
        actions: [
          {
            function_ref: {
              ref_name: 'f',
              arguments: {
                account: '$.account',
                bucket: '$.input.bucket | $CONST.input.bucket',
                region: '$.region | $.constants.region',
                retries: '$.retries | 3',
                label: "$.label | 'none'",
                fixed: "'$.not.a.path'",
                nested: { first: '$.items[0]' },
                n: 1,
              },
            },
          },
        ],
        end: true,
      }),
    ],
    { constants: { input: { bucket: 'default-bucket' }, region: 'cn-north-7' } },
  )
  const run = await runFlow(body, { account: 'acc', items: ['a', 'b'], label: 'L' }, { f: echo })
  expect(run.outcome).toEqual({
    status: 'SUCCEEDED',
    output: {
      account: 'acc',
      bucket: 'default-bucket',
      region: 'cn-north-7',
      retries: 3,
      label: 'L',
      fixed: '$.not.a.path',
      nested: { first: 'a' },
      n: 1,
    },
  })
  const given = await runFlow(
    body,
    { account: 'x', items: [0], input: { bucket: 'mine' } },
    {
      f: echo,
    },
  )
  expect(given.outcome).toMatchObject({ output: { bucket: 'mine', label: 'none' } })
})

test('state_data_filter selects the node input and output', async () => {
  const body = flow([
    operation('Pick', 'f', {
      state_data_filter: { input: '$.request', output: '$.body' },
      transition: 'End',
    }),
    { ...endState, state_data_filter: { input: '$.result', output: '' } },
  ])
  const run = await runFlow(
    body,
    { request: { q: 1 }, other: true },
    {
      f: (p) => ({ output: { status: 200, body: { result: { got: p } } } }),
    },
  )
  expect(run.calls[0]?.payload).toEqual({ q: 1 })
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: { got: { q: 1 } } })
})

test('sequential actions chain their outputs; parallel actions output an array', async () => {
  const actions = [{ function_ref: { ref_name: 'f' } }, { function_ref: { ref_name: 'g' } }]
  const functions = {
    f: (p: JsonValue) => ({ output: { n: ((p as { n: number }).n ?? 0) + 1 } }),
    g: (p: JsonValue) => ({ output: { n: (p as { n: number }).n * 10 } }),
  }
  const chain = await runFlow(
    flow([operation('Both', 'f', { actions, action_mode: 'sequential', end: true })]),
    { n: 1 },
    functions,
  )
  expect(chain.outcome).toEqual({ status: 'SUCCEEDED', output: { n: 20 } })
  const fan = await runFlow(
    flow([operation('Both', 'f', { actions, action_mode: 'parallel', end: true })]),
    { n: 1 },
    functions,
  )
  expect(fan.outcome).toEqual({ status: 'SUCCEEDED', output: [{ n: 2 }, { n: 10 }] })
})

test('a Foreach over the input array itself gives each iteration {item}', async () => {
  const body = flow([
    {
      id: 'Each',
      name: 'each',
      type: 'Foreach',
      input_collection: '$',
      actions: [{ function_ref: { ref_name: 'f', arguments: { twice: '$.item' } } }],
      end: true,
    },
  ])
  const run = await runFlow(body, [4, 5], { f: (p) => ({ output: field(p, 'twice') }) })
  expect(run.calls.map((c) => c.payload)).toEqual([{ twice: 4 }, { twice: 5 }])
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: [4, 5] })
})

test('a Parallel with completion atLeast 1 succeeds with the first branch done', async () => {
  const body = flow([
    {
      id: 'Race',
      name: 'race',
      type: 'Parallel',
      completion_type: 'atLeast',
      num_completed: 1,
      branches: [
        { actions: [{ function_ref: { ref_name: 'f' } }] },
        {
          start: 'Late',
          states: [
            { id: 'Late', name: 'late', type: 'Sleep', duration: 60, transition: 'Never' },
            operation('Never', 'g', { end: true }),
          ],
        },
      ],
      end: true,
    },
  ])
  const run = await runFlow(body, {}, { f: () => ({ output: 'fast' }), g: echo })
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: ['fast', null] })
  expect(run.calls.map((c) => c.node.id)).toEqual(['Race'])
})
