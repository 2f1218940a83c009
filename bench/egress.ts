/**
 * What function egress (ADR 0023) costs a cold start: the same cold starts with egress on and off
 * (`STRATO_EGRESS`), with pre-started stem cells (the veth is made while the cell boots; only the
 * policy attach is on the cold path) and without them (the whole wiring overlaps the boot).
 * Run with `npm run bench` or `node --import tsx bench/egress.ts` (as root, for egress to be on).
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
import { compactTable, describeError, summarize } from './lib/report.js'
import { COLD_N, RESULTS_DIR } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi, signedRequest } from './lib/signed-request.js'
import { startBenchStrato } from './lib/strato-server.js'

const HANDLER = 'exports.handler = async (event) => ({ statusCode: 200, body: "hello" })'
const EVENT = '{"hello":"world"}'
const FUNCTIONS = `/v2/${BENCH_PROJECT_ID}/fgs/functions`

interface Config {
  readonly label: string
  readonly egress: 'on' | 'off'
  readonly stemCells: number
}

const CONFIGS: readonly Config[] = [
  { label: 'egress on, stem cells on', egress: 'on', stemCells: 1 },
  { label: 'egress off, stem cells on', egress: 'off', stemCells: 1 },
  { label: 'egress on, stem cells off', egress: 'on', stemCells: 0 },
  { label: 'egress off, stem cells off', egress: 'off', stemCells: 0 },
]

interface Row {
  config: string
  egress: boolean
  coldP50: number
  coldP90: number
  coldMax: number
  failures: number
}

const reportProblem = (problem: string): void => console.error(`bench/egress: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/egress')

const orZero = (v: number): number => (Number.isNaN(v) ? 0 : v)

async function measure(config: Config): Promise<Row> {
  const strato = await startBenchStrato(processes, reportProblem, {
    env: { STRATO_EGRESS: config.egress, STRATO_STEM_CELLS: String(config.stemCells) },
    dataDirPrefix: 'strato-bench-egress-',
  })
  const base = strato.url
  try {
    const info = (await getJson(`${base}/strato/info`)) as { isolation: { level: string } }
    const samples: number[] = []
    let failures = 0
    for (let i = 0; i <= COLD_N; i++) {
      const created = (await callApi(base, 'POST', FUNCTIONS, {
        func_name: `cold-${i}`,
        package: 'default',
        runtime: 'Node.js18.15',
        handler: 'index.handler',
        memory_size: 128,
        timeout: 30,
        code_type: 'inline',
        func_code: { file: Buffer.from(HANDLER).toString('base64') },
      })) as { func_urn: string }
      // The pool refills between cold starts, as it would between starts that are not a burst.
      await sleep(400)
      const s = signedRequest('POST', `${base}${FUNCTIONS}/${created.func_urn}/invocations`, EVENT)
      const t0 = performance.now()
      const res = await fetch(s.url, { method: 'POST', headers: s.headers, body: EVENT })
      const text = await res.text()
      const t = performance.now() - t0
      if (res.status !== 200 || !text.includes('hello')) {
        failures++
      } else if (i > 0) {
        samples.push(t) // the first one pays for Strato's own lazy paths
      }
      await callApi(base, 'DELETE', `${FUNCTIONS}/${created.func_urn}`).catch((err: unknown) =>
        reportProblem(`deleting cold-${i}: ${describeError(err)}`),
      )
    }
    const cold = summarize(samples)
    const row: Row = {
      config: `${config.label} [${info.isolation.level}]`,
      egress: config.egress === 'on',
      coldP50: orZero(cold.p50),
      coldP90: orZero(cold.p90),
      coldMax: orZero(cold.max),
      failures,
    }
    console.log(
      `  ${row.config}: cold p50 ${row.coldP50.toFixed(1)} ms, p90 ${row.coldP90.toFixed(1)} ms`,
    )
    return row
  } finally {
    await strato.stop()
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  console.log(`\n== egress cost: ${COLD_N} cold starts per configuration`)
  if (process.getuid?.() !== 0) {
    console.log('  (not root: egress stays off in every configuration; the rows measure nothing)')
  }
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
      ['configuration', 'cold p50 ms', 'cold p90 ms', 'cold max ms', 'failures'],
      rows.map((r) => [
        r.config,
        r.coldP50.toFixed(1),
        r.coldP90.toFixed(1),
        r.coldMax.toFixed(1),
        String(r.failures),
      ]),
    ),
  ]
  for (const [on, off] of [
    [rows[0], rows[1]],
    [rows[2], rows[3]],
  ] as const) {
    if (on !== undefined && off !== undefined) {
      lines.push(
        `cold p50, egress on - off (${on.config.split(',')[1]?.split('[')[0]?.trim()}): ${(on.coldP50 - off.coldP50).toFixed(1)} ms`,
      )
    }
  }
  console.log(lines.join('\n'))
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'egress.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows }, null, 2)}\n`,
  )
}

main().catch((err: unknown) => {
  console.error('bench/egress:', err)
  process.exitCode = 1
})
