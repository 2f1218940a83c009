/**
 * Replay durability as host.ts describes it: after a crash the interpreter runs again from the
 * start and the host answers every recorded effect from the history. These tests record a run,
 * then replay it (whole, or cut short as a crash would leave it) and check that the replay takes
 * the same course: same effect paths, same random values, no recorded task run twice.
 */
import { expect, test } from 'vitest'
import type { ExecutionOutcome, JsonValue } from './definition.js'
import type { ExecutionHost, TaskOutcome, TaskRequest } from './host.js'
import { runStateMachine } from './interpreter.js'
import { validateDefinition } from './validate-definition.js'

interface History {
  readonly entered: Map<string, number>
  readonly tasks: Map<string, TaskOutcome>
  readonly timers: Map<string, number>
}

function historyHost(
  history: History,
  live: (request: TaskRequest) => TaskOutcome,
): ExecutionHost & { readonly liveTasks: string[]; readonly paths: string[] } {
  let clock = Date.parse('2026-03-01T00:00:00Z')
  const liveTasks: string[] = []
  const paths: string[] = []
  return {
    signal: new AbortController().signal,
    liveTasks,
    paths,
    now: () => clock,
    enterState: (event) => {
      paths.push(event.path)
      const recorded = history.entered.get(event.path)
      if (recorded !== undefined) {
        return Promise.resolve({ enteredAt: recorded })
      }
      history.entered.set(event.path, clock)
      return Promise.resolve({ enteredAt: clock })
    },
    exitState: () => Promise.resolve(),
    runTask: (request) => {
      const recorded = history.tasks.get(request.path)
      if (recorded !== undefined) {
        return Promise.resolve(recorded)
      }
      liveTasks.push(request.path)
      const outcome = live(request)
      history.tasks.set(request.path, outcome)
      return Promise.resolve(outcome)
    },
    sleepUntil: (key, untilMs) => {
      const until = history.timers.get(key) ?? untilMs
      history.timers.set(key, until)
      clock = Math.max(clock, until)
      return Promise.resolve()
    },
  }
}

const definition = validateDefinition({
  StartAt: 'Prepare',
  States: {
    Prepare: {
      Type: 'Pass',
      Parameters: {
        'id.$': 'States.UUID()',
        'roll.$': 'States.MathRandom(1, 1000000)',
        'items.$': '$.items',
      },
      Next: 'Fan',
    },
    Fan: {
      Type: 'Parallel',
      Branches: [
        {
          StartAt: 'Fetch',
          States: {
            Fetch: {
              Type: 'Task',
              Resource: 'fetch',
              Retry: [{ ErrorEquals: ['Flaky'], JitterStrategy: 'FULL', IntervalSeconds: 5 }],
              End: true,
            },
          },
        },
        {
          StartAt: 'Each',
          States: {
            Each: {
              Type: 'Map',
              ItemsPath: '$.items',
              ItemProcessor: {
                StartAt: 'Work',
                States: { Work: { Type: 'Task', Resource: 'work', End: true } },
              },
              End: true,
            },
          },
        },
      ],
      ResultPath: '$.results',
      Next: 'Pause',
    },
    Pause: { Type: 'Wait', Seconds: 30, Next: 'Stamp' },
    Stamp: {
      Type: 'Pass',
      QueryLanguage: 'JSONata',
      Output: {
        stamp: '{% $uuid() %}',
        results: '{% $states.input.results %}',
        id: '{% $states.input.id %}',
      },
      End: true,
    },
  },
})

function live(request: TaskRequest): TaskOutcome {
  if (request.resource === 'fetch' && request.attempt < 3) {
    return { ok: false, error: 'Flaky', cause: `attempt ${request.attempt}` }
  }
  return { ok: true, output: { from: request.path, payload: request.payload } }
}

async function run(host: ExecutionHost): Promise<ExecutionOutcome> {
  return runStateMachine({
    definition,
    input: { items: [1, 2] },
    host,
    seed: 'execution-42',
    context: {
      executionId: 'execution-42',
      executionName: 'run',
      startTime: '2026-03-01T00:00:00.000Z',
      stateMachineId: 'flow-1',
      stateMachineName: 'flow',
      redriveCount: 0,
    },
  })
}

function emptyHistory(): History {
  return { entered: new Map(), tasks: new Map(), timers: new Map() }
}

test('a full replay answers every effect from the history and ends the same way', async () => {
  const history = emptyHistory()
  const first = historyHost(history, live)
  const outcome = await run(first)
  expect(outcome.status).toBe('SUCCEEDED')
  expect(first.liveTasks.sort()).toEqual(
    [
      'Fan#1/b0/Fetch#1',
      'Fan#1/b0/Fetch#1@2',
      'Fan#1/b0/Fetch#1@3',
      'Fan#1/b1/Each#1/i0/Work#1',
      'Fan#1/b1/Each#1/i1/Work#1',
    ].sort(),
  )
  const timers = new Map(history.timers)

  const replay = historyHost(history, () => {
    throw new Error('a recorded task ran again')
  })
  expect(await run(replay)).toEqual(outcome)
  expect(replay.liveTasks).toEqual([])
  expect(replay.paths).toEqual(first.paths)
  expect(history.timers).toEqual(timers)
})

test('a replay after a crash reuses the recorded part and runs only what is missing', async () => {
  const complete = emptyHistory()
  const reference = await run(historyHost(complete, live))

  // The crash came after the first Fetch attempt and the first Map item were recorded.
  const partial = emptyHistory()
  for (const path of ['Fan#1/b0/Fetch#1', 'Fan#1/b1/Each#1/i0/Work#1']) {
    const outcome = complete.tasks.get(path)
    if (outcome === undefined) {
      throw new Error(`no ${path} in the reference run`)
    }
    partial.tasks.set(path, outcome)
  }
  for (const [path, at] of complete.entered) {
    if (path.startsWith('Prepare') || path.startsWith('Fan')) {
      partial.entered.set(path, at)
    }
  }
  const resumed = historyHost(partial, live)
  const outcome = await run(resumed)
  expect(outcome).toEqual(reference)
  expect(resumed.liveTasks.sort()).toEqual(
    ['Fan#1/b0/Fetch#1@2', 'Fan#1/b0/Fetch#1@3', 'Fan#1/b1/Each#1/i1/Work#1'].sort(),
  )
})

test('random values come from the seed: another execution draws others', async () => {
  const one = await run(historyHost(emptyHistory(), live))
  const other = await runStateMachine({
    definition,
    input: { items: [1, 2] },
    host: historyHost(emptyHistory(), live),
    seed: 'execution-43',
    context: {
      executionId: 'execution-43',
      executionName: 'run',
      startTime: '2026-03-01T00:00:00.000Z',
      stateMachineId: 'flow-1',
      stateMachineName: 'flow',
      redriveCount: 0,
    },
  })
  const idOf = (outcome: ExecutionOutcome): JsonValue =>
    outcome.status === 'SUCCEEDED' ? (outcome.output as { id: JsonValue }).id : null
  expect(typeof idOf(one)).toBe('string')
  expect(idOf(other)).not.toEqual(idOf(one))
})
