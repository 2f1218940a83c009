import { describe, expect, test } from 'vitest'
import type { FlowEvent, FlowEventType } from '../core/index.js'
import { errorMessageOf, nodeExecutionDetails } from './node-details.js'

let seq = 0
function ev(
  type: FlowEventType,
  path: string,
  node: string,
  at: number,
  payload: Record<string, unknown> = {},
  extra: Partial<FlowEvent> = {},
): FlowEvent {
  const stateName =
    path
      .split('/')
      .pop()
      ?.replace(/#\d+(@\d+)?$/, '') ?? ''
  return {
    executionId: 'run-1',
    seq: ++seq,
    type,
    path,
    stateName,
    nodeId: node,
    nodeName: `${node} name`,
    attempt: Number(/@(\d+)$/.exec(path)?.[1] ?? '1'),
    at,
    payloadJson: JSON.stringify(payload),
    requestId: undefined,
    ...extra,
  }
}

const timeoutCause = JSON.stringify({ errorMessage: 'took too long', errorType: 'States.Timeout' })
const failCause = JSON.stringify({ errorMessage: 'boom', errorType: 'Error' })

/** A run: a retried task (2 failures, then success), a Sleep, a Choice, a running task. */
const history: FlowEvent[] = [
  ev('ExecutionStarted', '', '', 1000, { input: { a: 1 } }),
  ev('StateEntered', 'Work#1', 'work', 1001, { input: { a: 1 } }),
  ev(
    'TaskScheduled',
    'Work#1',
    'work',
    1002,
    { input: { n: 1 }, resource: 'urn:f' },
    { requestId: 'r1' },
  ),
  ev('TaskFailed', 'Work#1', 'work', 1010, { error: 'FunctionError', cause: failCause }),
  ev('TaskScheduled', 'Work#1@2', 'work', 1020, { input: { n: 1 } }, { requestId: 'r2' }),
  ev('TaskFailed', 'Work#1@2', 'work', 1030, { error: 'States.Timeout', cause: timeoutCause }),
  ev('TaskScheduled', 'Work#1@3', 'work', 1040, { input: { n: 1 } }, { requestId: 'r3' }),
  ev('TaskSucceeded', 'Work#1@3', 'work', 1050, { output: { ok: true } }),
  // a helper state of the same node (error shaping) does not count as a visit of it
  ev('StateEntered', 'Work.Retry#1', 'work', 1051, { input: {} }),
  ev('StateExited', 'Work#1', 'work', 1052, { output: { ok: true } }),
  ev('StateEntered', 'Nap#1', 'nap', 1060, { input: { ok: true } }),
  ev('TimerStarted', 'Nap#1', 'nap', 1060, { until: 2060 }),
  ev('StateExited', 'Nap#1', 'nap', 2060, { output: { ok: true } }),
  ev('StateEntered', 'Check#1', 'check', 2061, { input: { ok: true } }),
  ev('StateExited', 'Check#1', 'check', 2062, { output: { ok: true } }),
  ev('StateEntered', 'Fan#1/b0/Last#1', 'last', 2070, { input: { ok: true } }),
  ev('TaskScheduled', 'Fan#1/b0/Last#1', 'last', 2071, {}, { requestId: 'r4' }),
]

describe('nodeExecutionDetails', () => {
  test('one entry per node in the order the run reached them', () => {
    const details = nodeExecutionDetails('run-1', history, { executionStatus: 'running' })
    expect(details.map((d) => [d.node_id, d.node_name, d.execution_id])).toEqual([
      ['work', 'work name', 'run-1'],
      ['nap', 'nap name', 'run-1'],
      ['check', 'check name', 'run-1'],
      ['last', 'last name', 'run-1'],
    ])
  })

  test('a function node lists every attempt with its request id, status and times', () => {
    const [work] = nodeExecutionDetails('run-1', history, { executionStatus: 'running' })
    expect(work?.executions).toEqual([
      {
        status: 'fail',
        input: { n: 1 },
        output: undefined,
        begin_time: 1002,
        end_time: 1010,
        error_message: 'FunctionError: boom',
        request_id: 'r1',
        path: 'Work#1',
        function_urn: 'urn:f',
      },
      {
        status: 'timeout',
        input: { n: 1 },
        output: undefined,
        begin_time: 1020,
        end_time: 1030,
        error_message: 'States.Timeout: took too long',
        request_id: 'r2',
        path: 'Work#1@2',
      },
      {
        status: 'success',
        input: { n: 1 },
        output: { ok: true },
        begin_time: 1040,
        end_time: 1050,
        error_message: undefined,
        request_id: 'r3',
        path: 'Work#1@3',
      },
    ])
  })

  test('sleep and condition nodes are listed as visits', () => {
    const details = nodeExecutionDetails('run-1', history, { executionStatus: 'running' })
    const nap = details.find((d) => d.node_id === 'nap')
    expect(nap?.executions).toMatchObject([
      { status: 'success', begin_time: 1060, end_time: 2060, output: { ok: true } },
    ])
    expect(details.find((d) => d.node_id === 'check')?.executions).toHaveLength(1)
  })

  test('what is in flight shows running while the run goes, cancel once it was stopped', () => {
    const running = nodeExecutionDetails('run-1', history, { executionStatus: 'running' })
    expect(running.at(-1)?.executions).toMatchObject([
      { status: 'running', end_time: undefined, request_id: 'r4', input: { ok: true } },
    ])
    const stopped = nodeExecutionDetails('run-1', history, { executionStatus: 'cancel' })
    expect(stopped.at(-1)?.executions[0]?.status).toBe('cancel')
    const timedOut = nodeExecutionDetails('run-1', history, { executionStatus: 'timeout' })
    expect(timedOut.at(-1)?.executions[0]?.status).toBe('timeout')
  })

  test('large data is cut to the bound unless the caller asks for all of it', () => {
    const big = { text: 'x'.repeat(500) }
    const events = [
      ev('StateEntered', 'Big#1', 'big', 1, { input: big }),
      ev('StateExited', 'Big#1', 'big', 2, { output: big }),
    ]
    const cut = nodeExecutionDetails('r', events, { executionStatus: 'success', maxDataChars: 100 })
    const input = cut[0]?.executions[0]?.input
    expect(typeof input).toBe('string')
    expect((input as string).length).toBe(100)
    expect(input).toMatch(/^\{"text":"x+…\(truncated\)$/)
    const full = nodeExecutionDetails('r', events, { executionStatus: 'success' })
    expect(full[0]?.executions[0]?.output).toEqual(big)
  })

  test('a failed callback is a failed attempt', () => {
    const events = [
      ev('TaskScheduled', 'Ask#1', 'ask', 1, { input: {} }, { requestId: 'q' }),
      ev('CallbackReceived', 'Ask#1', 'ask', 5, { result: 'fail', error: 'denied' }),
    ]
    const [ask] = nodeExecutionDetails('r', events, { executionStatus: 'fail' })
    expect(ask?.executions).toMatchObject([{ status: 'fail', end_time: 5, request_id: 'q' }])
  })
})

describe('errorMessageOf', () => {
  test("a JSON cause gives the function's message; any other cause is shown as it is", () => {
    expect(errorMessageOf('FunctionError', failCause)).toBe('FunctionError: boom')
    expect(errorMessageOf('States.Runtime', 'bad path')).toBe('States.Runtime: bad path')
    expect(errorMessageOf('X', undefined)).toBe('X')
  })
})

describe('nodeExecutionDetails across redeliveries and retries of the run', () => {
  test('a redelivery continues its attempt; a retry after the run failed adds a new one', () => {
    const events = [
      ev('StateEntered', 'Work#1', 'work', 1, { input: { a: 1 } }),
      ev('TaskScheduled', 'Work#1', 'work', 2, {}, { requestId: 'r1' }),
      // the engine crashed and delivered the same attempt again
      ev('TaskScheduled', 'Work#1', 'work', 9, {}, { requestId: 'r1' }),
      ev('TaskFailed', 'Work#1', 'work', 10, { error: 'FunctionError', cause: failCause }),
      ev('StateFailed', 'Work#1', 'work', 11, { error: 'FunctionError', cause: failCause }),
      ev('ExecutionRedriven', '', '', 20),
      ev('StateEntered', 'Work#1', 'work', 21, { input: { a: 1 } }),
      ev('TaskScheduled', 'Work#1', 'work', 22, {}, { requestId: 'r1b' }),
      ev('TaskSucceeded', 'Work#1', 'work', 30, { output: 1 }),
    ]
    const [work] = nodeExecutionDetails('r', events, { executionStatus: 'success' })
    expect(
      work?.executions.map((x) => [x.status, x.begin_time, x.end_time, x.request_id, x.input]),
    ).toEqual([
      ['fail', 2, 10, 'r1', { a: 1 }],
      ['success', 22, 30, 'r1b', { a: 1 }],
    ])
  })

  test("an attempt's path carries its number even when the event's path does not", () => {
    const events = [
      ev('TaskScheduled', 'Work#1', 'work', 1, {}, { attempt: 2 }),
      ev('TaskSucceeded', 'Work#1', 'work', 2, { output: 1 }, { attempt: 2 }),
    ]
    const [work] = nodeExecutionDetails('r', events, { executionStatus: 'success' })
    expect(work?.executions.map((x) => [x.path, x.status])).toEqual([['Work#1@2', 'success']])
  })
})
