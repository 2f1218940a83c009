/**
 * What function egress (ADR 0023) costs a cold start: the same cold starts with egress on and off
 * (`STRATO_EGRESS`), with pre-started stem cells (the veth is made while the cell boots; only the
 * policy attach is on the cold path) and without them (the whole wiring overlaps the boot).
 * Run with `npm run bench` or `node --import tsx bench/egress.ts` (as root, for egress to be on).
 *
 * An egress-on and an egress-off Strato (child processes, fresh data dirs) run side by side and
 * take turns, so the machine's load falls on both alike; every process and dir started here is
 * removed on the way out. Timing never fails the run.
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

interface Pair {
  readonly label: string
  readonly stemCells: number
}

/** Each pair runs an egress-on and an egress-off Strato side by side, alternating cold starts. */
const PAIRS: readonly Pair[] = [
  { label: 'stem cells on', stemCells: 1 },
  { label: 'stem cells off', stemCells: 0 },
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

/** One cold start on `base`: a new function, invoked once, timed; then deleted. */
async function coldStart(base: string, name: string): Promise<number | undefined> {
  const created = (await callApi(base, 'POST', FUNCTIONS, {
    func_name: name,
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
  await callApi(base, 'DELETE', `${FUNCTIONS}/${created.func_urn}`).catch((err: unknown) =>
    reportProblem(`deleting ${name}: ${describeError(err)}`),
  )
  return res.status === 200 && text.includes('hello') ? t : undefined
}

/**
 * Both Stratos of a pair live at once and take turns (the order flips each round), so the load
 * of this shared machine falls on both alike; the paired difference is reported too.
 */
async function measurePair(pair: Pair): Promise<{ rows: Row[]; diffP50: number }> {
  const start = (egress: 'on' | 'off') =>
    startBenchStrato(processes, reportProblem, {
      env: { STRATO_EGRESS: egress, STRATO_STEM_CELLS: String(pair.stemCells) },
      dataDirPrefix: 'strato-bench-egress-',
    })
  const on = await start('on')
  const off = await start('off')
  try {
    const info = (await getJson(`${on.url}/strato/info`)) as { isolation: { level: string } }
    const samples = { on: [] as number[], off: [] as number[] }
    const diffs: number[] = []
    let failures = { on: 0, off: 0 }
    for (let i = 0; i <= COLD_N; i++) {
      const order = i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)
      const t: Partial<Record<'on' | 'off', number>> = {}
      for (const which of order) {
        t[which] = await coldStart(which === 'on' ? on.url : off.url, `cold-${i}`)
      }
      for (const which of ['on', 'off'] as const) {
        const v = t[which]
        if (v === undefined) {
          failures = { ...failures, [which]: failures[which] + 1 }
        } else if (i > 0) {
          samples[which].push(v) // the first one pays for Strato's own lazy paths
        }
      }
      if (i > 0 && t.on !== undefined && t.off !== undefined) {
        diffs.push(t.on - t.off)
      }
    }
    const rows = (['on', 'off'] as const).map((which): Row => {
      const cold = summarize(samples[which])
      return {
        config: `egress ${which}, ${pair.label} [${info.isolation.level}]`,
        egress: which === 'on',
        coldP50: orZero(cold.p50),
        coldP90: orZero(cold.p90),
        coldMax: orZero(cold.max),
        failures: failures[which],
      }
    })
    const diffP50 = orZero(summarize(diffs).p50)
    for (const row of rows) {
      console.log(
        `  ${row.config}: cold p50 ${row.coldP50.toFixed(1)} ms, p90 ${row.coldP90.toFixed(1)} ms`,
      )
    }
    console.log(`  ${pair.label}: paired difference (on - off), p50 ${diffP50.toFixed(1)} ms`)
    return { rows, diffP50 }
  } finally {
    await Promise.all([on.stop(), off.stop()])
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  console.log(`\n== egress cost: ${COLD_N} cold starts per configuration`)
  if (process.getuid?.() !== 0) {
    console.log('  (not root: egress stays off in every configuration; the rows measure nothing)')
  }
  const rows: Row[] = []
  const diffs: Array<{ pair: string; diffP50: number }> = []
  try {
    for (const pair of PAIRS) {
      const measured = await measurePair(pair)
      rows.push(...measured.rows)
      diffs.push({ pair: pair.label, diffP50: measured.diffP50 })
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
    ...diffs.map(
      (d) => `cold start, egress on - off (${d.pair}), paired p50: ${d.diffP50.toFixed(1)} ms`,
    ),
  ]
  console.log(lines.join('\n'))
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'egress.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows, diffs }, null, 2)}\n`,
  )
}

main().catch((err: unknown) => {
  console.error('bench/egress:', err)
  process.exitCode = 1
})
