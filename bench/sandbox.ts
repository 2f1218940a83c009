/**
 * What the sandbox costs: cold start with pre-started stem cells, without them, and without any
 * sandbox (`rlimits`), and warm throughput with and without the sandbox, all in one run.
 * Run with `npm run bench` (after bench/run.ts) or `node --import tsx bench/sandbox.ts`.
 *
 * Each configuration runs its own Strato child process on a fresh data dir; every process and dir
 * started here is removed on the way out. Timing never fails the run.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChildProcesses } from './lib/child-processes.js'
import { getJson } from './lib/http-request.js'
import { runLoad } from './lib/load.js'
import { compactTable, describeError, formatRatio, ratio, summarize } from './lib/report.js'
import { COLD_N, DURATION_S, LOAD_WARMUP_S, RESULTS_DIR } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi, signedRequest } from './lib/signed-request.js'
import { startBenchStrato } from './lib/strato-server.js'

const CONNECTIONS = 8
const HANDLER = 'exports.handler = async (event) => ({ statusCode: 200, body: "hello" })'
const EVENT = '{"hello":"world"}'
const FUNCTIONS = `/v2/${BENCH_PROJECT_ID}/fgs/functions`

interface Config {
  readonly label: string
  readonly env: Record<string, string>
}

const CONFIGS: readonly Config[] = [
  { label: 'sandbox, stem cells on', env: { STRATO_STEM_CELLS: '1' } },
  { label: 'sandbox, stem cells off', env: { STRATO_STEM_CELLS: '0' } },
  {
    label: 'no sandbox (rlimits), stem cells off',
    env: { STRATO_ISOLATION: 'rlimits', STRATO_STEM_CELLS: '0' },
  },
]

interface Row {
  config: string
  isolation: string
  coldP50: number
  coldP90: number
  coldMax: number
  coldFailures: number
  warmReqPerSec: number
  warmP50: number
  warmP99: number
  warmNon2xx: number
}

const reportProblem = (problem: string): void => console.error(`bench/sandbox: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/sandbox')

async function createFunction(base: string, name: string, maxInstances?: number): Promise<string> {
  const created = (await callApi(base, 'POST', FUNCTIONS, {
    func_name: name,
    package: 'default',
    runtime: 'Node.js18.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 30,
    code_type: 'inline',
    func_code: { file: Buffer.from(HANDLER).toString('base64') },
    ...(maxInstances === undefined ? {} : { strategy_config: { concurrency: maxInstances } }),
  })) as { func_urn: string }
  return created.func_urn
}

/** A percentile or maximum of the cold starts, 0 when none succeeded. */
const orZero = (v: number): number => (Number.isNaN(v) ? 0 : v)

async function measure(config: Config): Promise<Row> {
  const strato = await startBenchStrato(processes, reportProblem, {
    env: config.env,
    dataDirPrefix: 'strato-bench-sandbox-',
  })
  const base = strato.url
  try {
    const info = (await getJson(`${base}/strato/info`)) as { isolation: { level: string } }
    // Cold starts: a new function each time, first invoke timed end to end. The pause before each
    // lets the pool refill, as it would between cold starts that are not a burst.
    const samples: number[] = []
    let failures = 0
    for (let i = 0; i <= COLD_N; i++) {
      const urn = await createFunction(base, `cold-${i}`)
      await sleep(400)
      const s = signedRequest('POST', `${base}${FUNCTIONS}/${urn}/invocations`, EVENT)
      const t0 = performance.now()
      const res = await fetch(s.url, { method: 'POST', headers: s.headers, body: EVENT })
      const text = await res.text()
      const t = performance.now() - t0
      if (res.status !== 200 || !text.includes('hello')) {
        failures++
      } else if (i > 0) {
        samples.push(t) // the first one pays for Strato's own lazy paths
      }
      await callApi(base, 'DELETE', `${FUNCTIONS}/${urn}`).catch((err: unknown) =>
        reportProblem(`deleting cold-${i}: ${describeError(err)}`),
      )
    }
    const cold = summarize(samples)
    // Warm throughput: one function, 4 instances at most, 8 connections.
    const urn = await createFunction(base, 'warm', 4)
    const s = signedRequest('POST', `${base}${FUNCTIONS}/${urn}/invocations`, EVENT)
    const { result: r } = await runLoad(
      { url: s.url, method: 'POST', headers: s.headers, body: EVENT, connections: CONNECTIONS },
      { warmupS: LOAD_WARMUP_S, durationS: DURATION_S },
    )
    const row: Row = {
      config: config.label,
      isolation: info.isolation.level,
      coldP50: orZero(cold.p50),
      coldP90: orZero(cold.p90),
      coldMax: orZero(cold.max),
      coldFailures: failures,
      warmReqPerSec: r.requests.average,
      warmP50: r.latency.p50,
      warmP99: r.latency.p99,
      warmNon2xx: r.non2xx + r.errors,
    }
    console.log(
      `  ${row.config} [${row.isolation}]: cold p50 ${row.coldP50.toFixed(1)} ms, p90 ${row.coldP90.toFixed(1)} ms; warm ${Math.round(row.warmReqPerSec)} req/s (c=${CONNECTIONS}), p99 ${row.warmP99} ms`,
    )
    return row
  } finally {
    await strato.stop()
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  console.log(
    `\n== sandbox cost: ${COLD_N} cold starts and ${DURATION_S} s of warm load per configuration`,
  )
  const rows: Row[] = []
  try {
    for (const config of CONFIGS) {
      rows.push(await measure(config))
    }
  } finally {
    await processes.cleanup()
  }
  const lines = [
    '',
    ...compactTable(
      [
        'configuration',
        'isolation',
        'cold p50 ms',
        'cold p90 ms',
        'cold max ms',
        'warm req/s (c=8, 4 inst.)',
        'warm p99 ms',
        'failures',
      ],
      rows.map((r) => [
        r.config,
        r.isolation,
        r.coldP50.toFixed(1),
        r.coldP90.toFixed(1),
        r.coldMax.toFixed(1),
        String(Math.round(r.warmReqPerSec)),
        String(r.warmP99),
        String(r.coldFailures + r.warmNon2xx),
      ]),
    ),
  ]
  const sandboxed = rows.find((r) => r.config === 'sandbox, stem cells on')
  const plain = rows.find((r) => r.isolation === 'rlimits')
  const sandboxToPlain =
    sandboxed === undefined || plain === undefined
      ? undefined
      : ratio(sandboxed.warmReqPerSec, plain.warmReqPerSec)
  if (sandboxToPlain !== undefined) {
    lines.push('', `warm throughput, sandbox / no sandbox: ${formatRatio(sandboxToPlain)}`)
  }
  console.log(lines.join('\n'))
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'sandbox.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows }, null, 2)}\n`,
  )
}

main().catch((err: unknown) => {
  console.error('bench/sandbox: failed:', err)
  process.exitCode = 1
})
