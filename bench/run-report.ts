/**
 * bench/run.ts's results and the report it prints: the tables (cold start, warm latency,
 * throughput, async), the raw numbers and the problems. Their shapes stay as they were so that runs
 * stay comparable.
 */
import type { AsyncResult } from './run-async.js'
import type { CpuPerRequest } from './lib/process-cpu.js'
import { formatRatio, ms, round, table, type Summary } from './lib/report.js'

export interface SequentialResult extends Summary {
  target: string
  client: string
  failures: number
  firstFailure?: string
}

export interface LoadResult {
  target: string
  maxInstances: number | null
  /** The function's concurrent_num (Strato rows only). */
  concurrentNum: number | null
  connections: number
  reqPerSec: number
  latencyP50: number
  latencyP99: number
  latencyMax: number
  requests: number
  ok2xx: number
  non2xx: number
  errors: number
  timeouts: number
  mismatches: number
  statusCodes: Record<string, number>
  durationS: number
  liveInstancesAfter?: number
  ratioToBare?: number
  /** Strato rows: req/s of the bare server measured just before, with the same connections. */
  bareJustBefore?: number
  /** CPU per request of the server, its children and this process (Strato rows). */
  cpu?: CpuPerRequest
}

export interface Results {
  meta: Record<string, unknown>
  coldStart?: Summary & { samplesMs: number[]; failures: number }
  warm: SequentialResult[]
  throughput: LoadResult[]
  async?: AsyncResult
  bodies: { bare?: string; strato?: string }
  stratoLog?: { file: string; warn: number; error: number; other: number; samples: string[] }
  problems: string[]
  failedPhases: string[]
}

export interface ReportSettings {
  readonly warmN: number
  readonly durationS: number
  readonly loadWarmupS: number
}

export function report(results: Results, settings: ReportSettings): string {
  const { warmN, durationS, loadWarmupS } = settings
  const out: string[] = []
  const m = results.meta
  out.push(
    `# Strato vs bare node:http — ${String(m.date)}`,
    '',
    `Node ${String(m.node)}, ${String(m.cpus)} x ${String(m.cpuModel)}, isolation: ${String(m.isolation)}, load average at start: ${JSON.stringify(m.loadAvgAtStart)}`,
    '',
  )
  const cold = results.coldStart
  out.push(`## Cold start: first invoke of a new function (official SDK), n=${cold?.n ?? 0}`, '')
  out.push(
    table(
      ['p50 ms', 'p90 ms', 'max ms', 'failures'],
      cold === undefined ? [] : [[ms(cold.p50), ms(cold.p90), ms(cold.max), String(cold.failures)]],
    ),
    '',
  )
  out.push(`## Warm latency: ${warmN} sequential requests, one at a time`, '')
  out.push(
    table(
      ['target', 'client', 'p50 ms', 'p99 ms', 'mean ms', 'failures'],
      results.warm.map((r) => [
        r.target,
        r.client,
        ms(r.p50),
        ms(r.p99),
        ms(r.mean),
        String(r.failures),
      ]),
    ),
    '',
  )
  out.push(`## Throughput: autocannon, ${durationS} s per row after ${loadWarmupS} s warm-up`, '')
  out.push(
    table(
      [
        'target',
        'max inst.',
        'concurrent_num',
        'conns',
        'req/s',
        'p50 ms',
        'p99 ms',
        'non-2xx',
        'errors',
        'bare just before',
        'Strato/bare',
        'instances',
        'CPU µs/req Strato + instance',
      ],
      results.throughput.map((r) => [
        r.target,
        r.maxInstances === null ? '-' : String(r.maxInstances),
        r.concurrentNum === null ? '-' : String(r.concurrentNum),
        String(r.connections),
        r.reqPerSec.toFixed(0),
        String(r.latencyP50),
        String(r.latencyP99),
        String(r.non2xx),
        String(r.errors),
        r.bareJustBefore === undefined ? '-' : r.bareJustBefore.toFixed(0),
        formatRatio(r.ratioToBare),
        r.liveInstancesAfter === undefined ? '-' : String(r.liveInstancesAfter),
        r.cpu === undefined
          ? '-'
          : `${r.cpu.stratoUs.toFixed(0)} + ${r.cpu.instancesUs.toFixed(0)}`,
      ]),
    ),
    '',
  )
  const a = results.async
  out.push(
    `## Async: accepted/s (202 only after the event is committed, fsync'd group commit) and drain`,
    '',
  )
  out.push(
    table(
      [
        'conns',
        'accepted',
        'accepted/s',
        'p50 ms',
        'p99 ms',
        'non-202',
        'drain s',
        'end-to-end/s',
        'drain-only/s',
        'max inst.',
      ],
      a === undefined
        ? []
        : [
            [
              String(a.connections),
              String(a.accepted),
              a.acceptedPerSec.toFixed(0),
              String(a.acceptLatencyP50),
              String(a.acceptLatencyP99),
              String(a.non202 + a.errors),
              String(a.drainSeconds),
              a.endToEndPerSec.toFixed(0),
              a.drainOnlyPerSec.toFixed(0),
              String(a.maxInstances),
            ],
          ],
    ),
    '',
  )
  out.push('## Raw numbers', '')
  if (cold !== undefined) {
    out.push(`cold start ms: ${cold.samplesMs.join(', ')}`)
  }
  for (const r of results.warm) {
    out.push(
      `warm ${r.target} / ${r.client}: n=${r.n} min=${round(r.min)} mean=${round(r.mean)} p50=${round(r.p50)} p90=${round(r.p90)} p99=${round(r.p99)} max=${round(r.max)} ms`,
    )
  }
  for (const r of results.throughput) {
    out.push(
      `load ${r.target}${r.maxInstances === null ? '' : ` max=${r.maxInstances}`} c=${r.connections}: ${r.requests} responses in ${r.durationS} s (2xx ${r.ok2xx}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}, body mismatches ${r.mismatches}), ${round(r.reqPerSec, 1)} req/s, latency p50 ${r.latencyP50} p99 ${r.latencyP99} max ${r.latencyMax} ms`,
    )
  }
  if (results.bodies.bare !== undefined) {
    out.push(
      `bodies: bare ${JSON.stringify(results.bodies.bare)}, Strato ${JSON.stringify(results.bodies.strato)}`,
    )
  }
  const log = results.stratoLog
  if (log !== undefined) {
    out.push(
      `Strato log (${log.file}): ${log.warn} warn, ${log.error} error, ${log.other} other lines`,
    )
  }
  out.push('')
  const issues = [
    ...results.failedPhases.map((p) => `FAILED ${p}`),
    ...results.problems,
    ...(log?.samples ?? []).map((s) => `Strato logged: ${s}`),
  ]
  out.push('## Problems', '', ...(issues.length === 0 ? ['none'] : issues.map((p) => `- ${p}`)), '')
  return out.join('\n')
}
