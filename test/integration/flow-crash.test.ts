/**
 * Crash test of durable flows (issue 17): 200 executions of a 5-step flow with a wait, Strato
 * SIGKILLed mid-run and restarted on the same data dir. Every execution must finish with the
 * right output, and no step that had completed before the kill may run again: the history must
 * not schedule it a second time, and the function's own log (it prints its request id, the
 * idempotency key) must not show a second run of it.
 */
import fs from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { expect, onTestFinished, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import {
  PROJECT_ID,
  clientFor,
  removeSandboxCgroups,
  spawnStrato,
  tmpDir,
  waitFor,
  type StratoProcess,
} from '../helpers/strato.js'

const EXECUTIONS = 200
const STEPS = 5

const HANDLER = `exports.handler = async (event, context) => {
  console.log('RAN ' + context.getRequestID())
  await new Promise((r) => setTimeout(r, 5 + Math.random() * 20))
  return { ...event, steps: (event.steps || 0) + 1 }
}`

const ENV = { STRATO_LOG_LEVEL: 'error' }

const fnUrn = `urn:fss:local-1:${PROJECT_ID}:function:default:flow-step:latest`

const step = (id: string, next: string) => ({
  id,
  name: id,
  type: 'Operation',
  end: false,
  transition: next,
  action_mode: 'sequential',
  actions: [{ function_ref: { ref_name: 'flow-step', invoke_mode: 'synchronize' } }],
})

const FLOW = {
  name: 'crash-flow',
  mode: 'NORMAL',
  start: 's1',
  functions: [{ name: 'flow-step', operation: fnUrn, metadata: {} }],
  constants: {},
  retries: [],
  states: [
    step('s1', 's2'),
    step('s2', 'nap'),
    {
      id: 'nap',
      name: 'nap',
      type: 'Sleep',
      duration: 1,
      end: false,
      transition: 's3',
      actions: [],
    },
    step('s3', 's4'),
    step('s4', 's5'),
    step('s5', 'done'),
    { id: 'done', name: 'done', type: 'End', end: true, transition: '', actions: [] },
  ],
}

interface EventRow {
  execution_id: string
  seq: number
  type: string
  path: string
  request_id: string | null
}

function historyOf(dataDir: string): EventRow[] {
  const db = new SQLite(path.join(dataDir, 'strato.db'), { readonly: true })
  try {
    return db
      .prepare(
        `SELECT execution_id, seq, type, path, request_id FROM flow_events
         ORDER BY execution_id, seq`,
      )
      .all() as EventRow[]
  } finally {
    db.close()
  }
}

test('flow crash: SIGKILL mid-run; after the restart every execution finishes and no completed step runs again', async () => {
  const dataDir = tmpDir('strato-flow-crash-')
  let strato: StratoProcess = await spawnStrato(dataDir, ENV)
  onTestFinished(async () => {
    await strato.stop('SIGKILL')
    await removeSandboxCgroups(dataDir)
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  let client = clientFor(strato.url)
  // One request per instance: its output is attributed to its request (the run counter).
  await client.createFunction(
    inlineFunction('flow-step', HANDLER, { strategy_config: { concurrency: 10 } }),
  )
  const flow = await client.createWorkflow(FLOW)
  const flowId = String(flow.id)
  const executionsPath = `/v2/${PROJECT_ID}/fgs/workflows/${flowId}/executions`

  // 1. Start every execution (each start answers once the execution is durable), then kill Strato
  //    at a random moment while they run: in their first steps, asleep, or in their last steps.
  const started: string[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < EXECUTIONS) {
        const i = next++
        const res = await client.raw('POST', executionsPath, JSON.stringify({ input: { i } }))
        expect(res.status).toBe(200)
        started.push((JSON.parse(res.body.toString()) as { execution_id: string }).execution_id)
      }
    }),
  )
  const killDelayMs = 200 + Math.floor(Math.random() * 2_300)
  await new Promise((resolve) => setTimeout(resolve, killDelayMs))
  strato.child.kill('SIGKILL')
  await new Promise<void>((resolve) =>
    strato.child.exitCode !== null || strato.child.signalCode !== null
      ? resolve()
      : strato.child.once('exit', () => resolve()),
  )

  // 2. What had completed when it died: the committed outcomes.
  const before = historyOf(dataDir)
  const completedBefore = new Set(
    before.filter((e) => e.type === 'TaskSucceeded').map((e) => e.request_id ?? ''),
  )
  const endedBefore = new Set(
    before.filter((e) => e.type === 'ExecutionSucceeded').map((e) => e.execution_id),
  )

  // 3. Restart: the executions resume from their histories.
  strato = await spawnStrato(dataDir, ENV)
  client = clientFor(strato.url)
  const statuses = new Map<string, { status: string; output: unknown }>()
  await waitFor(
    async () => {
      statuses.clear()
      for (let offset = 0; offset < EXECUTIONS; offset += 200) {
        const res = await client.raw('GET', `${executionsPath}?limit=200&offset=${offset}`)
        const page = JSON.parse(res.body.toString()) as {
          executions: Array<{ execution_id: string; status: string }>
        }
        for (const e of page.executions) {
          statuses.set(e.execution_id, { status: e.status, output: undefined })
        }
      }
      return [...statuses.values()].every((s) => s.status !== 'running')
    },
    60_000,
    250,
  )
  expect(statuses.size).toBe(EXECUTIONS)
  expect([...statuses.values()].filter((s) => s.status !== 'success')).toEqual([])
  for (const id of started.slice(0, 20)) {
    const shown = await client.raw('GET', `${executionsPath}/${id}`)
    const body = JSON.parse(shown.body.toString()) as { output?: unknown }
    const output =
      typeof body.output === 'string' ? (JSON.parse(body.output) as unknown) : body.output
    expect(output).toMatchObject({ steps: STEPS })
  }

  // 4. The history: contiguous, one outcome per step, and no completed step scheduled again.
  const after = historyOf(dataDir)
  const byExecution = new Map<string, EventRow[]>()
  for (const e of after) {
    byExecution.set(e.execution_id, [...(byExecution.get(e.execution_id) ?? []), e])
  }
  const problems: string[] = []
  let redispatched = 0
  for (const [id, events] of byExecution) {
    if (events.some((e, i) => e.seq !== i + 1)) {
      problems.push(`${id}: seq has gaps`)
    }
    const succeeded = events.filter((e) => e.type === 'TaskSucceeded')
    if (succeeded.length !== STEPS || new Set(succeeded.map((e) => e.path)).size !== STEPS) {
      problems.push(`${id}: ${succeeded.length} task outcomes`)
    }
    const scheduled = new Map<string, number>()
    for (const e of events.filter((e) => e.type === 'TaskScheduled')) {
      scheduled.set(e.request_id ?? '', (scheduled.get(e.request_id ?? '') ?? 0) + 1)
    }
    for (const [requestId, count] of scheduled) {
      if (count > 1 && completedBefore.has(requestId)) {
        problems.push(`${id}: completed step ${requestId} scheduled ${count} times`)
      }
      if (count > 1) {
        redispatched += 1
      }
    }
  }
  expect(problems).toEqual([])

  // 5. The functions' side: each completed step's request id ran once; every step ran.
  const allSteps = after.filter((e) => e.type === 'TaskSucceeded').map((e) => e.request_id ?? '')
  expect(allSteps).toHaveLength(EXECUTIONS * STEPS)
  const runsOf = new Map<string, number>()
  const queue = [...allSteps]
  await waitFor(
    async () => {
      runsOf.clear()
      const ids = [...queue]
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
            const res = (await client.logs(fnUrn, { request_id: id })) as {
              logs: Array<{ status: string; log: string }>
            }
            runsOf.set(id, res.logs.filter((l) => l.log.includes(`RAN ${id}`)).length)
          }
        }),
      )
      // Logs written after the restart may still be on their way to the log store.
      return allSteps
        .filter((id) => !completedBefore.has(id))
        .every((id) => (runsOf.get(id) ?? 0) >= 1)
    },
    20_000,
    500,
  )
  const ranTwice = [...completedBefore].filter((id) => (runsOf.get(id) ?? 0) > 1)
  expect(ranTwice).toEqual([])
  // A log line the kill caught before it reached the log store is lost; the others show one run.
  const seenOnce = [...completedBefore].filter((id) => runsOf.get(id) === 1).length
  // eslint-disable-next-line no-console -- where the kill landed is worth seeing in the run
  console.log(
    `flow crash: killed ${killDelayMs} ms after the last start; ${completedBefore.size} of ` +
      `${EXECUTIONS * STEPS} steps and ${endedBefore.size} executions had completed (${seenOnce} of those steps logged ` +
      `once, the rest lost with the kill); ` +
      `${redispatched} in-flight steps dispatched again with their request id; none completed ran again`,
  )
}, 180_000)
