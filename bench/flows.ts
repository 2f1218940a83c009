/**
 * Function flows: a 10-step sequential flow (Huawei v2, one Operation per step) of a no-op Node.js
 * function, NORMAL (durable history, one SQLite commit per event) and EXPRESS (in memory).
 * Measured per mode: steps per second with one execution at a time and with several at once, and
 * the engine's overhead per step: an execution's duration (its begin and end as stored) minus the
 * function's own durations (the invocation logs' handler time), divided by the steps.
 * Run with `node --import tsx bench/flows.ts` after `npm run build` (`npm run bench` does both).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import SQLite from 'better-sqlite3'
import { ChildProcesses } from './lib/child-processes.js'
import { compactTable, round } from './lib/report.js'
import { envInt, RESULTS_DIR } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi } from './lib/signed-request.js'
import { startBenchStrato, type BenchStrato } from './lib/strato-server.js'

const STEPS = 10
const SEQUENTIAL = envInt('BENCH_FLOWS_SEQUENTIAL', 50, 10)
const CONCURRENT = envInt('BENCH_FLOWS_CONCURRENCY', 8, 4)
const CONCURRENT_RUNS = envInt('BENCH_FLOWS_CONCURRENT_RUNS', 200, 40)
const NOOP = `exports.handler = async () => ({ ok: true })`

const reportProblem = (problem: string): void => console.error(`bench/flows: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/flows')

type Mode = 'NORMAL' | 'EXPRESS'

interface Row {
  readonly mode: Mode
  readonly concurrency: number
  readonly executions: number
  readonly stepsPerSec: number
  /** Mean execution duration (ms) as stored. */
  readonly executionMs: number
  /** Mean handler time per step (ms), from the invocation logs. */
  readonly functionMsPerStep: number
  /** (execution duration − Σ handler times) / steps, mean (ms). */
  readonly overheadMsPerStep: number
}

function flowBody(name: string, mode: Mode, functionUrn: string): object {
  const ids = Array.from({ length: STEPS }, (_, i) => `s${i + 1}`)
  return {
    name,
    mode,
    start: 's1',
    functions: [{ name: 'noop', operation: functionUrn, metadata: {} }],
    constants: {},
    retries: [],
    states: [
      ...ids.map((id, i) => ({
        id,
        name: id,
        type: 'Operation',
        end: false,
        transition: ids[i + 1] ?? 'done',
        action_mode: 'sequential',
        actions: [{ function_ref: { ref_name: 'noop', invoke_mode: 'synchronize' } }],
      })),
      { id: 'done', name: 'done', type: 'End', end: true, transition: '', actions: [] },
    ],
  }
}

class Flow {
  constructor(
    readonly strato: BenchStrato,
    readonly mode: Mode,
    readonly id: string,
    readonly functionId: string,
  ) {}

  #path(suffix: string): string {
    return `/v2/${BENCH_PROJECT_ID}/fgs/workflows/${this.id}/${suffix}`
  }

  /** Runs one execution to its end; its id. */
  async run(): Promise<string> {
    if (this.mode === 'EXPRESS') {
      const r = (await callApi(this.strato.url, 'POST', this.#path('sync-executions'), {
        input: {},
      })) as { execution_id: string; status: string }
      if (r.status !== 'success') {
        throw new Error(`EXPRESS execution ended ${r.status}`)
      }
      return r.execution_id
    }
    const { execution_id: id } = (await callApi(this.strato.url, 'POST', this.#path('executions'), {
      input: {},
    })) as { execution_id: string }
    for (;;) {
      const e = (await callApi(this.strato.url, 'GET', this.#path(`executions/${id}`))) as {
        status: string
      }
      if (e.status === 'success') {
        return id
      }
      if (e.status !== 'running') {
        throw new Error(`NORMAL execution ended ${e.status}`)
      }
      await sleep(2)
    }
  }
}

/** Durations as stored: executions (strato.db) and the function's invocations (logs.db). */
function measured(
  strato: BenchStrato,
  executionIds: readonly string[],
  functionId: string,
  from: number,
  to: number,
): { executionMs: number; functionMs: number; invocations: number } {
  const db = new SQLite(path.join(strato.dataDir, 'strato.db'), { readonly: true })
  const logs = new SQLite(path.join(strato.dataDir, 'logs.db'), { readonly: true })
  try {
    const duration = db.prepare('SELECT end_at - begin_at AS ms FROM flow_executions WHERE id = ?')
    let executionMs = 0
    for (const id of executionIds) {
      executionMs += (duration.get(id) as { ms: number }).ms
    }
    const fn = logs
      .prepare(
        `SELECT count(*) AS n, coalesce(sum(duration_ms), 0) AS ms FROM invocation_logs
         WHERE function_id = ? AND started_at >= ? AND started_at <= ?`,
      )
      .get(functionId, from, to) as { n: number; ms: number }
    return { executionMs, functionMs: fn.ms, invocations: fn.n }
  } finally {
    db.close()
    logs.close()
  }
}

async function phase(flow: Flow, concurrency: number, executions: number): Promise<Row> {
  const ids: string[] = []
  const from = Date.now()
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < executions) {
        next += 1
        ids.push(await flow.run())
      }
    }),
  )
  const to = Date.now()
  // The invocation logs reach logs.db through a writer thread: give it a moment.
  await sleep(1_500)
  const m = measured(flow.strato, ids, flow.functionId, from, to)
  if (m.invocations !== executions * STEPS) {
    reportProblem(`${flow.mode}: ${m.invocations} invocations logged of ${executions * STEPS}`)
  }
  const steps = executions * STEPS
  return {
    mode: flow.mode,
    concurrency,
    executions,
    stepsPerSec: steps / ((to - from) / 1000),
    executionMs: m.executionMs / executions,
    functionMsPerStep: m.functionMs / steps,
    overheadMsPerStep: (m.executionMs - m.functionMs) / steps,
  }
}

async function main(): Promise<void> {
  const strato = await startBenchStrato(processes, reportProblem, {
    dataDirPrefix: 'strato-bench-flows-',
    env: { STRATO_LOG_LEVEL: 'warn' },
  })
  const rows: Row[] = []
  try {
    for (const mode of ['NORMAL', 'EXPRESS'] as const) {
      const fn = (await callApi(strato.url, 'POST', `/v2/${BENCH_PROJECT_ID}/fgs/functions`, {
        func_name: `noop-${mode.toLowerCase()}`,
        package: 'default',
        runtime: 'Node.js20.15',
        handler: 'index.handler',
        memory_size: 128,
        timeout: 30,
        code_type: 'inline',
        func_code: { file: Buffer.from(NOOP).toString('base64') },
        strategy_config: { concurrency: CONCURRENT },
      })) as { func_id: string; func_urn: string }
      const created = (await callApi(
        strato.url,
        'POST',
        `/v2/${BENCH_PROJECT_ID}/fgs/workflows`,
        flowBody(`bench-${mode.toLowerCase()}`, mode, fn.func_urn),
      )) as { id: string }
      const flow = new Flow(strato, mode, created.id, fn.func_id)
      // Warm: instances for every concurrent run started, and the code paths compiled.
      await Promise.all(Array.from({ length: CONCURRENT }, () => flow.run()))
      for (const [concurrency, executions] of [
        [1, SEQUENTIAL],
        [CONCURRENT, CONCURRENT_RUNS],
      ] as const) {
        const row = await phase(flow, concurrency, executions)
        rows.push(row)
        console.log(
          `${mode}, ${concurrency} at once: ${Math.round(row.stepsPerSec)} steps/s, ` +
            `engine overhead ${row.overheadMsPerStep.toFixed(2)} ms per step`,
        )
      }
    }
    console.log(
      [
        '',
        `Flows: a ${STEPS}-step sequential flow of a no-op Node.js function`,
        ...compactTable(
          [
            'mode',
            'at once',
            'executions',
            'steps/s',
            'execution ms',
            'fn ms/step',
            'overhead ms/step',
          ],
          rows.map((r) => [
            r.mode,
            String(r.concurrency),
            String(r.executions),
            String(Math.round(r.stepsPerSec)),
            String(round(r.executionMs, 1)),
            String(round(r.functionMsPerStep, 2)),
            String(round(r.overheadMsPerStep, 2)),
          ]),
        ),
      ].join('\n'),
    )
    fs.mkdirSync(RESULTS_DIR, { recursive: true })
    fs.writeFileSync(
      path.join(RESULTS_DIR, 'flows.json'),
      `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows }, null, 2)}\n`,
    )
  } finally {
    await processes.cleanup()
  }
}

main().catch((err: unknown) => {
  console.error('bench/flows: failed:', err)
  process.exitCode = 1
})
