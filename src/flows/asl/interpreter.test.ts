import { expect, test } from 'vitest'
import { createConformanceHost, type ConformanceHostOptions } from './conformance-host.js'
import type { ExecutionOutcome, JsonValue } from './definition.js'
import type { TaskOutcome } from './host.js'
import { runStateMachine } from './interpreter.js'
import { parseTaskToken } from './run-task.js'
import { validateDefinition } from './validate-definition.js'

const START = Date.parse('2026-01-01T00:00:00Z')

async function run(
  definition: unknown,
  input: JsonValue = {},
  options: ConformanceHostOptions & { seed?: string } = {},
): Promise<{ outcome: ExecutionOutcome; host: ReturnType<typeof createConformanceHost> }> {
  const host = createConformanceHost({ startMs: START, ...options })
  const outcome = await runStateMachine({
    definition: validateDefinition(definition),
    input,
    host,
    seed: options.seed ?? 'exec-1',
    context: {
      executionId: 'exec-1',
      executionName: 'run-1',
      startTime: new Date(START).toISOString(),
      stateMachineId: 'machine-1',
      stateMachineName: 'machine',
      redriveCount: 0,
    },
  })
  return { outcome, host }
}

/** A machine of one Task state `Call` (calling `fn`, then ending) with `call`'s fields added. */
function callMachine(call: Record<string, unknown>, more: Record<string, unknown> = {}): unknown {
  return {
    StartAt: 'Call',
    States: { Call: { Type: 'Task', Resource: 'fn', ...call, End: true }, ...more },
  }
}

const failing =
  (error: string, times = Infinity) =>
  (): ((request: { attempt: number }) => TaskOutcome) =>
  (request) =>
    request.attempt <= times
      ? { ok: false, error, cause: `attempt ${request.attempt}` }
      : { ok: true, output: { attempt: request.attempt } }

test('effect paths name each visit, branch, item and attempt, and a second run repeats them', async () => {
  const definition = {
    StartAt: 'Loop',
    States: {
      Loop: {
        Type: 'Choice',
        Choices: [{ Variable: '$.n', NumericLessThan: 2, Next: 'Count' }],
        Default: 'Fan',
      },
      Count: {
        Type: 'Pass',
        Parameters: { 'n.$': 'States.MathAdd($.n, 1)', 'items.$': '$.items' },
        Next: 'Loop',
      },
      Fan: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } },
          {
            StartAt: 'Each',
            States: {
              Each: {
                Type: 'Map',
                ItemsPath: '$.items',
                ItemProcessor: { StartAt: 'Work', States: { Work: { Type: 'Pass', End: true } } },
                End: true,
              },
            },
          },
        ],
        End: true,
      },
    },
  }
  const first = await run(definition, { n: 0, items: [1, 2] })
  expect(first.outcome).toMatchObject({ status: 'SUCCEEDED' })
  expect([...first.host.enteredPaths].sort()).toEqual(
    [
      'Loop#1',
      'Count#1',
      'Loop#2',
      'Count#2',
      'Loop#3',
      'Fan#1',
      'Fan#1/b0/Left#1',
      'Fan#1/b1/Each#1',
      'Fan#1/b1/Each#1/i0/Work#1',
      'Fan#1/b1/Each#1/i1/Work#1',
    ].sort(),
  )
  const second = await run(definition, { n: 0, items: [1, 2] })
  expect(second.host.enteredPaths).toEqual(first.host.enteredPaths)
})

test('a retry waits IntervalSeconds × BackoffRate^(n-1), capped by MaxDelaySeconds, through the host', async () => {
  const { outcome, host } = await run(
    callMachine({
      Retry: [
        {
          ErrorEquals: ['Boom'],
          IntervalSeconds: 2,
          BackoffRate: 3,
          MaxAttempts: 3,
          MaxDelaySeconds: 10,
        },
      ],
    }),
    {},
    { runTask: failing('Boom', 3)() },
  )
  expect(outcome).toEqual({ status: 'SUCCEEDED', output: { attempt: 4 } })
  expect(host.tasks.map((t) => [t.path, t.attempt])).toEqual([
    ['Call#1', 1],
    ['Call#1@2', 2],
    ['Call#1@3', 3],
    ['Call#1@4', 4],
  ])
  const delays = host.sleeps.map(
    (sleep, i) => sleep.untilMs - (i === 0 ? START : (host.sleeps[i - 1]?.untilMs ?? 0)),
  )
  expect(delays).toEqual([2000, 6000, 10000])
  expect(host.sleeps.map((s) => s.key)).toEqual([
    'Call#1@2:interval',
    'Call#1@3:interval',
    'Call#1@4:interval',
  ])
})

test('FULL jitter draws each interval below the backoff, the same for the same seed', async () => {
  const definition = callMachine({
    Retry: [
      {
        ErrorEquals: ['States.ALL'],
        IntervalSeconds: 100,
        MaxAttempts: 2,
        JitterStrategy: 'FULL',
      },
    ],
  })
  const waits = async (seed: string): Promise<number[]> => {
    const { host } = await run(definition, {}, { runTask: failing('Boom')(), seed })
    return host.sleeps.map((s) => s.untilMs)
  }
  const first = await waits('seed-a')
  expect(await waits('seed-a')).toEqual(first)
  expect(await waits('seed-b')).not.toEqual(first)
  const [one = 0, two = 0] = first
  expect(one - START).toBeLessThan(100_000)
  expect(two - one).toBeLessThan(200_000)
})

test('the first matching retrier decides: an exhausted one does not fall through to a later one', async () => {
  const { outcome, host } = await run(
    callMachine(
      {
        Retry: [
          { ErrorEquals: ['Boom'], MaxAttempts: 1 },
          { ErrorEquals: ['States.ALL'], MaxAttempts: 5 },
        ],
        Catch: [{ ErrorEquals: ['Boom'], Next: 'Handled', ResultPath: '$.error' }],
      },
      {
        Handled: { Type: 'Pass', End: true },
      },
    ),
    { id: 7 },
    { runTask: failing('Boom')() },
  )
  expect(host.tasks).toHaveLength(2)
  expect(outcome).toEqual({
    status: 'SUCCEEDED',
    output: { id: 7, error: { Error: 'Boom', Cause: 'attempt 2' } },
  })
})

test('$$.State.RetryCount counts the retries of the visit', async () => {
  const { outcome } = await run(
    callMachine({
      Parameters: { 'retries.$': '$$.State.RetryCount' },
      Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 2 }],
    }),
    {},
    {
      runTask: (request) =>
        request.attempt < 3 ? { ok: false, error: 'Boom' } : { ok: true, output: request.payload },
    },
  )
  expect(outcome).toEqual({ status: 'SUCCEEDED', output: { retries: 2 } })
})

test('an uncaught task error fails the execution and names the state', async () => {
  const { outcome } = await run(callMachine({}), {}, { runTask: failing('FunctionError')() })
  expect(outcome).toEqual({
    status: 'FAILED',
    error: 'FunctionError',
    cause: 'attempt 1',
    failedState: 'Call',
  })
})

test('a failing Parallel branch stops the other branches and fails with its error', async () => {
  const { outcome, host } = await run({
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Bad', States: { Bad: { Type: 'Fail', Error: 'BranchBroke', Cause: 'no' } } },
          {
            StartAt: 'Slow',
            States: {
              Slow: { Type: 'Wait', Seconds: 60, Next: 'After' },
              After: { Type: 'Pass', End: true },
            },
          },
        ],
        End: true,
      },
    },
  })
  expect(outcome).toEqual({
    status: 'FAILED',
    error: 'BranchBroke',
    cause: 'no',
    failedState: 'Bad',
  })
  expect(host.enteredStates).not.toContain('After')
})

test('Parallel with Strato.CompletionType atLeast succeeds once enough branches have, others null', async () => {
  const { outcome, host } = await run({
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Parallel',
        'Strato.CompletionType': 'atLeast',
        'Strato.NumCompleted': 1,
        Branches: [
          { StartAt: 'Fast', States: { Fast: { Type: 'Pass', Result: 'fast', End: true } } },
          {
            StartAt: 'Slow',
            States: {
              Slow: { Type: 'Wait', Seconds: 60, Next: 'After' },
              After: { Type: 'Pass', End: true },
            },
          },
        ],
        End: true,
      },
    },
  })
  expect(outcome).toEqual({ status: 'SUCCEEDED', output: ['fast', null] })
  expect(host.enteredStates).not.toContain('After')
})

test('Map with MaxConcurrency 1 runs items one after another, output in item order', async () => {
  let running = 0
  let most = 0
  const { outcome } = await run(
    {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          MaxConcurrency: 1,
          ItemSelector: { 'i.$': '$$.Map.Item.Index', 'v.$': '$$.Map.Item.Value' },
          ItemProcessor: {
            StartAt: 'Work',
            States: { Work: { Type: 'Task', Resource: 'fn', End: true } },
          },
          End: true,
        },
      },
    },
    ['a', 'b', 'c'],
    {
      runTask: async (request) => {
        running += 1
        most = Math.max(most, running)
        await new Promise((resolve) => setImmediate(resolve))
        running -= 1
        return { ok: true, output: request.payload }
      },
    },
  )
  expect(most).toBe(1)
  expect(outcome).toEqual({
    status: 'SUCCEEDED',
    output: [
      { i: 0, v: 'a' },
      { i: 1, v: 'b' },
      { i: 2, v: 'c' },
    ],
  })
})

test('the execution TimeoutSeconds fails the run with States.Timeout', async () => {
  const { outcome, host } = await run({
    TimeoutSeconds: 30,
    StartAt: 'Long',
    States: {
      Long: { Type: 'Wait', Seconds: 60, Next: 'After' },
      After: { Type: 'Pass', End: true },
    },
  })
  expect(outcome).toEqual({ status: 'FAILED', error: 'States.Timeout' })
  expect(host.enteredStates).toEqual(['Long'])
})

test('a stopped execution runs no further state', async () => {
  const host = createConformanceHost({ startMs: START })
  const definition = validateDefinition({
    StartAt: 'Call',
    States: {
      Call: { Type: 'Task', Resource: 'fn', Next: 'After' },
      After: { Type: 'Pass', End: true },
    },
  })
  const pending = runStateMachine({
    definition,
    input: {},
    host: {
      ...host,
      signal: host.signal,
      runTask: () => new Promise<TaskOutcome>(() => undefined),
    },
    seed: 's',
    context: {
      executionId: 'e',
      executionName: 'e',
      startTime: new Date(START).toISOString(),
      stateMachineId: 'm',
      stateMachineName: 'm',
      redriveCount: 0,
    },
  })
  await new Promise((resolve) => setImmediate(resolve))
  host.stop()
  const outcome = await pending
  expect(outcome.status).toBe('FAILED')
  expect(host.enteredStates).toEqual(['Call'])
})

test('a callback task is flagged, and its token names the execution and attempt', async () => {
  const { outcome, host } = await run(
    {
      StartAt: 'Approve',
      States: {
        Approve: {
          Type: 'Task',
          Resource: 'urn:fss:fn',
          'Strato.Callback': true,
          TimeoutSeconds: 30,
          HeartbeatSeconds: 10,
          Parameters: { 'token.$': '$$.Task.Token' },
          End: true,
        },
      },
    },
    {},
    { runTask: (request) => ({ ok: true, output: request.payload }) },
  )
  const [task] = host.tasks
  expect(task?.callback).toBe(true)
  expect(task?.timeoutMs).toBe(30_000)
  expect(task?.heartbeatMs).toBe(10_000)
  const token = (outcome.status === 'SUCCEEDED' ? outcome.output : null) as { token: string }
  expect(parseTaskToken(token.token)).toEqual({ executionId: 'exec-1', path: 'Approve#1' })
  expect(parseTaskToken('not a token')).toBeUndefined()
})

test('variables: an inner Map scope reads outer variables, its own assignments stay inside', async () => {
  const machine = (read: Record<string, string>): unknown => ({
    StartAt: 'Set',
    States: {
      Set: { Type: 'Pass', Assign: { factor: 10 }, Next: 'Each' },
      Each: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: {
          StartAt: 'Inner',
          States: {
            Inner: {
              Type: 'Pass',
              Parameters: { 'factor.$': '$factor', 'v.$': '$' },
              Assign: { inner: 1 },
              End: true,
            },
          },
        },
        Next: 'Read',
      },
      Read: { Type: 'Pass', Parameters: read, End: true },
    },
  })
  const { outcome } = await run(machine({ 'results.$': '$' }), { items: [1, 2] })
  expect(outcome).toEqual({
    status: 'SUCCEEDED',
    output: {
      results: [
        { factor: 10, v: 1 },
        { factor: 10, v: 2 },
      ],
    },
  })
  const outside = await run(machine({ 'inner.$': '$inner' }), { items: [1] })
  expect(outside.outcome).toMatchObject({
    status: 'FAILED',
    error: 'States.Runtime',
    failedState: 'Read',
  })
})

test('a host error is not the flow failing: it propagates out of runStateMachine', async () => {
  const lost = new Error('lease lost')
  await expect(run(callMachine({}), {}, { runTask: () => Promise.reject(lost) })).rejects.toBe(lost)
})
