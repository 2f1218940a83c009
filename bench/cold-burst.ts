/**
 * Cold starts in a burst of new functions (issue 20): N Node.js functions created with the official
 * Huawei SDK and each invoked right after its creation, back to back with no pause, so the stem
 * cell pool must keep up with the burst rather than be full before each start. Only each first
 * invoke is timed (and each create, apart). Run with `npm run bench` or
 * `node --import tsx bench/cold-burst.ts` after `npm run build`.
 *
 * Each configuration (`STRATO_STEM_CELLS`, `STRATO_STEM_CELL_BOOTS`, `STRATO_STEM_CELL_BOOT_NICE`) gets its own Strato;
 * all run side by side and take turns burst by burst (the order flips each round), so this shared
 * machine's load falls on all alike. Before each burst every Strato's pool is back at its steady
 * state (the info endpoint's `stemCells`), so no other Strato's refill competes with the burst. The
 * pool learns its depth from launches that find no cell (ADR 0029), so a first, untimed-apart burst
 * teaches it the burst's size: its p50 is reported on its own (the cost of a burst the pool has not
 * seen lately). Every process and dir started here is removed on the way out.
 * Timing never fails the run.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChildProcesses } from './lib/child-processes.js'
import { getJson } from './lib/http-request.js'
import { descendantsOf } from './lib/process-cpu.js'
import { compactTable, describeError, summarize } from './lib/report.js'
import {
  createHelloFunction,
  deleteFunction,
  sdkClient,
  sdkInvoke,
  type SdkClient,
} from './lib/sdk-client.js'
import { envInt, RESULTS_DIR } from './lib/settings.js'
import { startBenchStrato, type BenchStrato } from './lib/strato-server.js'

/** Functions per burst (`BENCH_BURST_N`, 20; 4 under `BENCH_QUICK=1`). */
const BURST_N = envInt('BENCH_BURST_N', 20, 4)
/** Bursts per configuration (`BENCH_BURST_ROUNDS`, 3; 1 under `BENCH_QUICK=1`). */
const ROUNDS = envInt('BENCH_BURST_ROUNDS', 3, 1)

interface Config {
  readonly label: string
  readonly env: Record<string, string>
}

/**
 * `BENCH_BURST_CONFIGS`: `;`-separated configurations, each `CELLS[xBOOTS][nNICE]`
 * (`STRATO_STEM_CELLS`, `STRATO_STEM_CELL_BOOTS`, `STRATO_STEM_CELL_BOOT_NICE`, e.g. `1x1n0;4x2`);
 * an empty one is Strato's defaults. Default: the pool before ADR 0029 (one cell, one boot at a
 * time, at full priority) against the defaults.
 */
const CONFIGS: readonly Config[] = (process.env.BENCH_BURST_CONFIGS ?? '1x1n0;')
  .split(';')
  .map((c) => {
    const spec = c.trim()
    if (spec === '') {
      return { label: 'defaults', env: {} }
    }
    const nice = /n(\d+)$/.exec(spec)?.[1] ?? ''
    const [cells, boots] = spec.replace(/n\d+$/, '').split('x')
    const env: Record<string, string> = { STRATO_STEM_CELLS: cells ?? '' }
    if (nice !== '') {
      env.STRATO_STEM_CELL_BOOT_NICE = nice
    }
    if (boots !== undefined) {
      env.STRATO_STEM_CELL_BOOTS = boots
    }
    return {
      label: `STRATO_STEM_CELLS=${cells ?? ''}${boots === undefined ? '' : `, STRATO_STEM_CELL_BOOTS=${boots}`}${nice === '' ? '' : `, STRATO_STEM_CELL_BOOT_NICE=${nice}`}`,
      env,
    }
  })

interface Row {
  config: string
  invokeP50: number
  invokeP90: number
  invokeMax: number
  /** The first burst's, while the pool learned the burst's depth. */
  firstBurstP50: number
  createP50: number
  createP90: number
  /** RSS of one idle pre-started cell's processes (KiB), where /proc says. */
  idleCellRssKib: number | undefined
  failures: number
}

const problems: string[] = []
const reportProblem = (problem: string): void => {
  problems.push(problem)
  console.error(`bench/cold-burst: ${problem}`)
}
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/cold-burst')

const orZero = (v: number): number => (Number.isNaN(v) ? 0 : v)

interface Target {
  readonly config: Config
  readonly strato: BenchStrato
  readonly client: SdkClient
  readonly invokeMs: number[]
  readonly createMs: number[]
  /** The first burst's invokes (the pool learning its depth). */
  readonly firstBurstMs: number[]
  failures: number
  /** The pool's steady state: the most cells seen idle between bursts. */
  steadyCells: number
}

async function stemCells(url: string): Promise<number> {
  const info = (await getJson(`${url}/strato/info`)) as { stemCells?: number }
  return info.stemCells ?? 0
}

/** The pool's size once it stops growing (unchanged for 2 s; at most 20 s). */
async function steadyStemCells(url: string): Promise<number> {
  const deadline = Date.now() + 20_000
  let last = -1
  let since = Date.now()
  while (Date.now() < deadline) {
    const n = await stemCells(url)
    if (n !== last) {
      last = n
      since = Date.now()
    } else if (Date.now() - since >= 2000) {
      break
    }
    await sleep(100)
  }
  return last
}

/** Waits until the pool is back to `target` cells (at most 10 s): each burst starts alike. */
async function poolRefilled(url: string, target: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && (await stemCells(url)) < target) {
    await sleep(50)
  }
}

/** One burst: create, invoke, create, invoke ... with no pause; the functions go afterwards. */
async function burst(
  t: Target,
  round: number,
  into: { invokeMs: number[]; createMs: number[] },
  n: number,
): Promise<void> {
  const urns: string[] = []
  for (let i = 0; i < n; i++) {
    const c0 = performance.now()
    let urn: string
    try {
      urn = await createHelloFunction(t.client, `burst-${round}-${i}-${Date.now()}`)
    } catch (err) {
      t.failures++
      reportProblem(`${t.config.label}: createFunction: ${describeError(err)}`)
      continue
    }
    const c = performance.now() - c0
    urns.push(urn)
    const t0 = performance.now()
    const ok = await sdkInvoke(t.client, urn).catch((err: unknown) => {
      reportProblem(`${t.config.label}: invoke: ${describeError(err)}`)
      return false
    })
    const ms = performance.now() - t0
    if (!ok) {
      t.failures++
    } else {
      into.invokeMs.push(ms)
      into.createMs.push(c)
    }
  }
  for (const urn of urns) {
    await deleteFunction(t.client, urn, reportProblem)
  }
}

/**
 * Resident memory of one idle cell's processes (bubblewrap, the interpreter), the mean over the
 * cells idle now: what each cell of a deeper pool costs. Shared pages count once per process.
 */
function idleCellRssKib(strato: BenchStrato): number | undefined {
  const dir = path.join(strato.dataDir, 'instances')
  const perCell: number[] = []
  for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    let leader: number
    try {
      leader = Number(fs.readFileSync(path.join(dir, id, 'pid'), 'utf8').split(' ')[0])
    } catch {
      continue // not started yet, or gone
    }
    if (!Number.isInteger(leader) || leader <= 1) {
      continue
    }
    let kib = 0
    for (const pid of [leader, ...descendantsOf(leader)]) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
        kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
      } catch {
        // gone meanwhile
      }
    }
    if (kib > 0) {
      perCell.push(kib)
    }
  }
  return perCell.length === 0
    ? undefined
    : Math.round(perCell.reduce((a, b) => a + b, 0) / perCell.length)
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  console.log(
    `\n== cold-start burst: ${BURST_N} new Node.js functions, each invoked right after its creation (official SDK), ${ROUNDS} burst(s) per configuration`,
  )
  const targets: Target[] = []
  const rows: Row[] = []
  try {
    for (const config of CONFIGS) {
      const strato = await startBenchStrato(processes, reportProblem, {
        env: config.env,
        dataDirPrefix: 'strato-bench-burst-',
      })
      targets.push({
        config,
        strato,
        client: sdkClient(strato.url),
        invokeMs: [],
        createMs: [],
        firstBurstMs: [],
        failures: 0,
        steadyCells: 0,
      })
    }
    // Apart: the first burst pays for Strato's own lazy paths and teaches the pool its depth;
    // each once the Stratos before it have settled (their refills would share the CPU).
    for (const [i, t] of targets.entries()) {
      for (const earlier of targets.slice(0, i)) {
        await steadyStemCells(earlier.strato.url)
      }
      await burst(t, -1, { invokeMs: t.firstBurstMs, createMs: [] }, BURST_N)
    }
    for (const t of targets) {
      t.steadyCells = await steadyStemCells(t.strato.url)
    }
    const rss = new Map(targets.map((t) => [t, idleCellRssKib(t.strato)]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse()
      for (const t of order) {
        // Every Strato's pool, not only this one's: another's refill would share the CPU.
        for (const each of targets) {
          await poolRefilled(each.strato.url, each.steadyCells)
          // A pool still learning its depth grows past the last steady state: wait for that too.
          each.steadyCells = Math.max(each.steadyCells, await steadyStemCells(each.strato.url))
        }
        await burst(t, round, t, BURST_N)
      }
    }
    for (const t of targets) {
      const invoke = summarize(t.invokeMs)
      const create = summarize(t.createMs)
      const row: Row = {
        config: `${t.config.label} (${t.steadyCells} idle)`,
        invokeP50: orZero(invoke.p50),
        invokeP90: orZero(invoke.p90),
        invokeMax: orZero(invoke.max),
        firstBurstP50: orZero(summarize(t.firstBurstMs).p50),
        createP50: orZero(create.p50),
        createP90: orZero(create.p90),
        idleCellRssKib: rss.get(t),
        failures: t.failures,
      }
      rows.push(row)
      console.log(
        `  ${row.config}: first invoke p50 ${row.invokeP50.toFixed(1)} ms, p90 ${row.invokeP90.toFixed(1)} ms, max ${row.invokeMax.toFixed(1)} ms (first burst p50 ${row.firstBurstP50.toFixed(1)} ms); create p50 ${row.createP50.toFixed(1)} ms`,
      )
    }
  } finally {
    await processes.cleanup()
  }
  const lines = [
    '',
    ...compactTable(
      [
        'configuration',
        'invoke p50 ms',
        'invoke p90 ms',
        'invoke max ms',
        'first burst p50 ms',
        'create p50 ms',
        'create p90 ms',
        'idle cell RSS MiB',
        'failures',
      ],
      rows.map((r) => [
        r.config,
        r.invokeP50.toFixed(1),
        r.invokeP90.toFixed(1),
        r.invokeMax.toFixed(1),
        r.firstBurstP50.toFixed(1),
        r.createP50.toFixed(1),
        r.createP90.toFixed(1),
        r.idleCellRssKib === undefined ? '-' : (r.idleCellRssKib / 1024).toFixed(1),
        String(r.failures),
      ]),
    ),
  ]
  if (problems.length > 0) {
    lines.push('', 'Problems:', ...problems.map((p) => `- ${p}`))
  }
  console.log(lines.join('\n'))
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'cold-burst.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), burstN: BURST_N, rounds: ROUNDS, rows, problems }, null, 2)}\n`,
  )
  if (rows.some((r) => r.invokeP50 === 0)) {
    process.exitCode = 1
  }
}

main().catch((err: unknown) => {
  console.error('bench/cold-burst:', err)
  process.exitCode = 1
})
