import { expect, test } from 'vitest'
import type { JsonValue } from '../asl/definition.js'
import { echo, endState, field, flow, operation, runFlow } from './huawei-test-flows.js'

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

test('error data is made from any Cause: JSON without errorType, plain text, or none', async () => {
  const body = flow([
    operation('Call', 'f', {
      on_errors: [{ error: '$.errorCode == 500', transition: 'Show' }],
      transition: 'End',
    }),
    operation('Show', 'g', { transition: 'End' }),
    endState,
  ])
  const errorData = async (cause: string | null): Promise<JsonValue> => {
    const run = await runFlow(
      body,
      {},
      {
        f: () => ({ error: 'Oops', message: '', cause }),
        g: echo,
      },
    )
    if (run.outcome.status !== 'SUCCEEDED') {
      throw new Error(JSON.stringify(run.outcome))
    }
    return run.outcome.output
  }
  expect(await errorData('{"errorMessage":"m","stackTrace":["at x"]}')).toEqual({
    errorCode: 500,
    errorMessage: 'm',
    errorType: 'Oops',
    stackTrace: ['at x'],
  })
  expect(await errorData('disk full')).toEqual({
    errorCode: 500,
    errorMessage: 'disk full',
    errorType: 'Oops',
  })
  expect(await errorData(null)).toEqual({ errorCode: 500, errorMessage: '', errorType: 'Oops' })
})

test('an unmatched error without a Cause fails the flow with its name alone', async () => {
  const body = flow([
    operation('Call', 'f', {
      on_errors: [{ error: "$.errorType == 'Else'", transition: 'End' }],
      transition: 'End',
    }),
    endState,
  ])
  const run = await runFlow(body, {}, { f: () => ({ error: 'Bare', message: '', cause: null }) })
  expect(run.outcome).toMatchObject({ status: 'FAILED', error: 'Bare' })
  expect(run.outcome).not.toHaveProperty('cause')
})
