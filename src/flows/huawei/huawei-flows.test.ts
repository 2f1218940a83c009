import { expect, test } from 'vitest'
import type { JsonObject, JsonValue } from '../asl/definition.js'
import type { ExecutionHost, TaskOutcome, TaskRequest } from '../asl/host.js'
import { runStateMachine } from '../asl/interpreter.js'
import { validateDefinition } from '../asl/validate-definition.js'
import { compileHuaweiWorkflow } from './compile-workflow.js'

/** A fake function: its answer for a call, and how long it "runs" (fake seconds). */
type FakeFunction = (
  payload: JsonValue,
  call: number,
) => { output: JsonValue; seconds?: number } | { error: string; message: string; seconds?: number }

const urn = (name: string): string => `urn:fss:cn-north-7:p0:function:default:${name}:latest`

interface Run {
  readonly outcome: Awaited<ReturnType<typeof runStateMachine>>
  /** Task requests, in call order. */
  readonly calls: TaskRequest[]
  /** Node ids (Strato.Node) of the states entered, in order. */
  readonly nodes: string[]
  readonly elapsedMs: number
}

/** Compiles a Huawei body, validates its IR as the API does, and runs it on a fake-time host. */
async function runFlow(
  body: JsonObject,
  input: JsonValue,
  functions: Record<string, FakeFunction>,
): Promise<Run> {
  const compiled = compileHuaweiWorkflow(body)
  const definition = validateDefinition(compiled.ir)
  const start = Date.UTC(2026, 0, 1)
  let clock = start
  const calls: TaskRequest[] = []
  const nodes: string[] = []
  const counts = new Map<string, number>()
  const host: ExecutionHost = {
    signal: new AbortController().signal,
    now: () => clock,
    enterState: (event) => {
      nodes.push(event.node.id)
      return Promise.resolve({ enteredAt: clock })
    },
    exitState: () => Promise.resolve(),
    // Fake time: a sleep ends at once and moves the clock (enough for sequential flows).
    sleepUntil: (_key, untilMs) => {
      clock = Math.max(clock, untilMs)
      return Promise.resolve()
    },
    runTask: (request): Promise<TaskOutcome> => {
      calls.push(request)
      const name = /:function:default:([^:]+):/.exec(request.resource)?.[1] ?? ''
      const fn = functions[name]
      if (fn === undefined) {
        throw new Error(`no fake function ${name}`)
      }
      const call = (counts.get(name) ?? 0) + 1
      counts.set(name, call)
      const result = fn(request.payload, call)
      const seconds = result.seconds ?? 0
      if (request.timeoutMs !== undefined && seconds * 1000 > request.timeoutMs) {
        clock += request.timeoutMs
        const cause = { errorMessage: 'the call timed out', errorType: 'States.Timeout' }
        return Promise.resolve({ ok: false, error: 'States.Timeout', cause: JSON.stringify(cause) })
      }
      clock += seconds * 1000
      if ('error' in result) {
        const cause = JSON.stringify({ errorMessage: result.message, errorType: result.error })
        return Promise.resolve({ ok: false, error: result.error, cause })
      }
      return Promise.resolve({ ok: true, output: result.output })
    },
  }
  const outcome = await runStateMachine({
    definition,
    input,
    host,
    seed: 'seed',
    context: {
      executionId: 'exec-1',
      executionName: 'exec-1',
      startTime: new Date(start).toISOString(),
      stateMachineId: 'wf-1',
      stateMachineName: compiled.name,
      redriveCount: 0,
    },
  })
  return { outcome, calls, nodes, elapsedMs: clock - start }
}

function flow(
  states: JsonObject[],
  extra: { functions?: string[]; retries?: JsonObject[]; constants?: JsonObject } = {},
): JsonObject {
  return {
    name: 'test-flow',
    start: states[0]?.['id'] ?? '',
    constants: extra.constants ?? {},
    retries: extra.retries ?? [],
    functions: (extra.functions ?? ['f', 'g', 'h']).map((name) => ({
      name,
      operation: urn(name),
    })),
    states,
  }
}

function operation(id: string, fn: string, rest: JsonObject = {}): JsonObject {
  return {
    id,
    name: `${id}-name`,
    type: 'Operation',
    actions: [{ function_ref: { ref_name: fn } }],
    end: false,
    transition: '',
    ...rest,
  }
}

/** A field of an object payload (null when absent). */
function field(payload: JsonValue, key: string): JsonValue {
  return (payload as JsonObject)[key] ?? null
}

const endState = { id: 'End', name: 'End', type: 'End', end: true, transition: '', actions: [] }
const echo: FakeFunction = (payload) => ({ output: payload })

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

test('an on_errors retry runs the node again after the delay and succeeds on the third attempt', async () => {
  const body = flow(
    [
      operation('Flaky', 'f', {
        on_errors: [{ error: '$.errorCode == 500', retry_ref: 'thrice', transition: 'Fallback' }],
        transition: 'End',
      }),
      operation('Fallback', 'g', { transition: 'End' }),
      endState,
    ],
    { retries: [{ name: 'thrice', delay: 5, max_attempts: 3 }] },
  )
  const run = await runFlow(
    body,
    { job: 7 },
    {
      f: (p, call) =>
        call < 3
          ? { error: 'BusyError', message: `busy ${call}` }
          : { output: { done: field(p, 'job') } },
      g: echo,
    },
  )
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: { done: 7 } })
  expect(run.calls.map((c) => c.payload)).toEqual([{ job: 7 }, { job: 7 }, { job: 7 }])
  expect(run.elapsedMs).toBe(10_000)
  expect(run.calls.every((c) => c.node.id === 'Flaky')).toBe(true)
})

test('on_errors routes a failed call to a fallback function with the error data as input', async () => {
  const body = flow(
    [
      operation('Charge', 'f', {
        on_errors: [
          { error: "$.errorType == 'CardDeclined'", transition: 'Decline' },
          { error: '$.errorCode == 500', retry_ref: 'once', transition: 'Fallback' },
        ],
        transition: 'End',
      }),
      operation('Decline', 'h', { transition: 'End' }),
      operation('Fallback', 'g', { transition: 'End' }),
      endState,
    ],
    { retries: [{ name: 'once', delay: 1, max_attempts: 1 }] },
  )
  const run = await runFlow(
    body,
    {},
    {
      f: () => ({ error: 'GatewayDown', message: 'no route' }),
      g: (p) => ({ output: { fallbackGot: p } }),
      h: echo,
    },
  )
  expect(run.outcome).toEqual({
    status: 'SUCCEEDED',
    output: {
      fallbackGot: { errorCode: 500, errorMessage: 'no route', errorType: 'GatewayDown' },
    },
  })
  // one retry (max_attempts 1), then the fallback
  expect(run.calls.map((c) => c.node.id)).toEqual(['Charge', 'Charge', 'Fallback'])

  const declined = await runFlow(
    body,
    {},
    {
      f: () => ({ error: 'CardDeclined', message: 'no funds' }),
      g: echo,
      h: (p) => ({ output: { declined: p } }),
    },
  )
  expect(declined.calls.map((c) => c.node.id)).toEqual(['Charge', 'Decline'])
  expect(declined.outcome).toMatchObject({
    status: 'SUCCEEDED',
    output: { declined: { errorType: 'CardDeclined', errorMessage: 'no funds' } },
  })
})

test('an error that no on_errors entry matches fails the flow with the function error', async () => {
  const body = flow([
    operation('Call', 'f', {
      on_errors: [{ error: "$.errorType == 'Other'", transition: 'End' }],
      transition: 'End',
    }),
    endState,
  ])
  const run = await runFlow(body, {}, { f: () => ({ error: 'Boom', message: 'it broke' }) })
  expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'Boom' })
  if (run.outcome.status !== 'FAILED') {
    throw new Error('expected a failure')
  }
  expect(JSON.parse(run.outcome.cause ?? '')).toEqual({
    errorMessage: 'it broke',
    errorType: 'Boom',
  })
  expect(run.nodes.at(-1)).toBe('Call')
})

test('retries that run out without a transition fail the flow', async () => {
  const body = flow(
    [
      operation('Call', 'f', {
        on_errors: [{ error: "$.errorMessage == 'flaky*'", retry_ref: 'twice' }],
        transition: 'End',
      }),
      endState,
    ],
    { retries: [{ name: 'twice', delay: 2, max_attempts: 2 }] },
  )
  const run = await runFlow(body, {}, { f: () => ({ error: 'E', message: 'flaky net' }) })
  expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'E' })
  expect(run.calls).toHaveLength(3)
  expect(run.elapsedMs).toBe(4000)
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

test('an Operation timeout fails the call with States.Timeout, which on_errors can route', async () => {
  const body = flow([
    operation('Slow', 'f', {
      timeout: 2,
      on_errors: [{ error: "$.errorType == 'States.Timeout'", transition: 'Fast' }],
      transition: 'End',
    }),
    operation('Fast', 'g', { transition: 'End' }),
    endState,
  ])
  const run = await runFlow(
    body,
    { v: 1 },
    {
      f: () => ({ output: 'late', seconds: 5 }),
      g: (p) => ({ output: { recovered: field(p, 'errorType') } }),
    },
  )
  expect(run.calls[0]?.timeoutMs).toBe(2000)
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: { recovered: 'States.Timeout' } })
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

test('a sequential chain with on_errors retries from its first action with the node input', async () => {
  const body = flow(
    [
      operation('Two', 'f', {
        actions: [{ function_ref: { ref_name: 'f' } }, { function_ref: { ref_name: 'g' } }],
        on_errors: [{ error: '$.errorCode == 500', retry_ref: 'r' }],
        state_data_filter: { input: '$.in', output: '$.n' },
        end: true,
      }),
    ],
    { retries: [{ name: 'r', delay: 1, max_attempts: 2 }] },
  )
  const run = await runFlow(
    body,
    { in: { n: 1 } },
    {
      f: (p) => ({ output: { n: (p as { n: number }).n + 1 } }),
      g: (p, call) =>
        call === 1
          ? { error: 'Once', message: 'first' }
          : { output: { n: (p as { n: number }).n * 3 } },
    },
  )
  expect(run.calls.map((c) => c.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 1 }, { n: 2 }])
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: 6 })
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

test('inside a Foreach, constants are readable and each iteration retries on its own', async () => {
  const body = flow(
    [
      {
        id: 'Each',
        name: 'each',
        type: 'Foreach',
        input_collection: '$.ids',
        iteration_param: 'id',
        mode: 'sequential',
        start: 'Fetch',
        states: [
          operation('Fetch', 'f', {
            actions: [
              {
                function_ref: {
                  ref_name: 'f',
                  arguments: { id: '$.id', host: '$.host | $CONST.host' },
                },
              },
            ],
            on_errors: [{ error: "$.errorType == 'Flaky'", retry_ref: 'r' }],
            end: true,
          }),
        ],
        end: true,
      },
    ],
    { constants: { host: 'db1' }, retries: [{ name: 'r', delay: 1, max_attempts: 1 }] },
  )
  const run = await runFlow(
    body,
    { ids: [1, 2] },
    {
      // the first call of each id fails once (odd call numbers)
      f: (p, call) =>
        call % 2 === 1
          ? { error: 'Flaky', message: 'again' }
          : { output: `${JSON.stringify(field(p, 'host'))}/${JSON.stringify(field(p, 'id'))}` },
    },
  )
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: ['"db1"/1', '"db1"/2'] })
  expect(run.calls).toHaveLength(4)
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

test('a Foreach with on_errors still puts its results at output_collection, then filters', async () => {
  const body = flow(
    [
      {
        id: 'Loop',
        name: 'loop',
        type: 'Foreach',
        input_collection: '$.xs',
        output_collection: '$.ys',
        state_data_filter: { input: '$.job', output: '$.ys' },
        actions: [{ function_ref: { ref_name: 'f', arguments: { x: '$.item' } } }],
        on_errors: [{ error: '$.errorCode == 500', retry_ref: 'r' }],
        end: true,
      },
    ],
    { retries: [{ name: 'r', delay: 1, max_attempts: 1 }] },
  )
  const run = await runFlow(
    body,
    { job: { xs: [1, 2] } },
    {
      f: (p, call) => (call === 2 ? { error: 'E', message: 'm' } : { output: field(p, 'x') }),
    },
  )
  // the node ran twice: call 2 (item 2, first run) failed, so both items ran again
  expect(run.outcome).toEqual({ status: 'SUCCEEDED', output: [1, 2] })
  expect(run.calls).toHaveLength(4)
})
