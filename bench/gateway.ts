/**
 * The API gateway's cost: one Express app (installed from npm), hit directly and as an HTTP
 * function behind an APIG trigger, in the same run, with autocannon over kept-alive connections.
 * Run with `npm run bench` or `node --import tsx bench/gateway.ts`.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { zipDirectory } from '../test/helpers/code.js'
import { ChildProcesses, waitUntilReady, type Child } from './lib/child-processes.js'
import { freePort } from './lib/free-port.js'
import { runLoad } from './lib/load.js'
import { formatCpu, type CpuPerRequest } from './lib/process-cpu.js'
import { compactTable, formatRatio, ratio } from './lib/report.js'
import { DURATION_S, LOAD_WARMUP_S, RESULTS_DIR } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi } from './lib/signed-request.js'
import { startBenchStrato } from './lib/strato-server.js'

const CONNECTIONS = [1, 8]
/**
 * The memory of the non-default shapes: its CPU share follows it as FunctionGraph computes it
 * (memory/128*100+200 millicores as cpu.shares), so 1024 MB weighs like one full process.
 */
const MEMORY_MB = Number(process.env.BENCH_GATEWAY_MEMORY_MB ?? 1024)

interface Shape {
  /** How `BENCH_GATEWAY_SHAPES` names it. */
  readonly name: string
  readonly label: string
  readonly memoryMb: number
  /** `strategy_config`, or none: the platform's defaults. */
  readonly strategy: { concurrency: number; concurrent_num: number } | undefined
}

/**
 * `default` is the target: the smallest memory (128 MB, the console's default; the API
 * requires one) and no `strategy_config` (max instances 400, concurrent_num 1). The others pin max
 * instances and concurrent_num (requests one instance serves at once) at `MEMORY_MB`.
 */
const ALL_SHAPES: readonly Shape[] = [
  {
    name: 'default',
    label: 'defaults: 128 MB, no strategy_config',
    memoryMb: 128,
    strategy: undefined,
  },
  ...[
    { max: 1, concurrentNum: 1 },
    { max: 2, concurrentNum: 1 },
    { max: 1, concurrentNum: 8 },
  ].map(({ max, concurrentNum }) => ({
    name: `${max}x${concurrentNum}`,
    label: `${MEMORY_MB} MB, max ${max} inst., concurrent_num ${concurrentNum}`,
    memoryMb: MEMORY_MB,
    strategy: { concurrency: max, concurrent_num: concurrentNum },
  })),
]
/** `BENCH_GATEWAY_SHAPES`: a comma-separated subset of the names above (all by default). */
const SHAPES = ((): readonly Shape[] => {
  const wanted = (process.env.BENCH_GATEWAY_SHAPES ?? '').split(',').filter((n) => n !== '')
  if (wanted.length === 0) {
    return ALL_SHAPES
  }
  const unknown = wanted.filter((n) => !ALL_SHAPES.some((s) => s.name === n))
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_GATEWAY_SHAPES: unknown ${unknown.join(', ')}; known: ${ALL_SHAPES.map((s) => s.name).join(', ')}`,
    )
  }
  return ALL_SHAPES.filter((s) => wanted.includes(s.name))
})()
/** The app as a developer runs it locally; PORT only so that the direct run can pick a free one. */
const APP = `const express = require('express')
const app = express()
app.get('/bench/hello', (req, res) => res.json({ hello: 'world', q: req.query.q }))
app.listen(Number(process.env.PORT || 8000), '127.0.0.1')
`

const us = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : 'n/a')

const reportProblem = (problem: string): void => console.error(`bench/gateway: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/gateway')

/** Waits until `url` answers below 500 (an app or a trigger route is up). */
function waitHttp(url: string, server: Child): Promise<void> {
  return waitUntilReady(url, server, async () => (await fetch(url)).status < 500)
}

interface Row {
  target: string
  connections: number
  /** Gateway rows: req/s of the direct run made just before this one, with the same connections. */
  directReqPerSec?: number
  /** Gateway rows: CPU per request of the direct app (its own process) in that run. */
  directCpuUs?: number
  reqPerSec: number
  p50: number
  p99: number
  non2xx: number
  /** CPU per request of the serving processes (`serverPid` and its children) and of autocannon. */
  cpu: CpuPerRequest
}

async function load(
  target: string,
  url: string,
  connections: number,
  serverPid: number,
): Promise<Row> {
  const { result: r, cpu } = await runLoad(
    { url, connections },
    { warmupS: LOAD_WARMUP_S, durationS: DURATION_S, cpuOfPid: serverPid },
  )
  const row = {
    target,
    connections,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx + r.errors,
    cpu,
  }
  console.log(
    `  ${target} c=${connections}: ${Math.round(row.reqPerSec)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, failures ${row.non2xx}; ${formatCpu(row.cpu)}`,
  )
  return row
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-express-'))
  try {
    fs.writeFileSync(path.join(appDir, 'package.json'), '{"name":"bench-app","private":true}')
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', 'express@4'], {
      cwd: appDir,
      stdio: 'ignore',
    })
    fs.writeFileSync(path.join(appDir, 'app.js'), APP)
    fs.writeFileSync(path.join(appDir, 'bootstrap'), 'node $RUNTIME_CODE_ROOT/app.js\n')
    console.log(
      `\n== gateway: Express directly and behind an APIG trigger, ${DURATION_S} s per row`,
    )
    const rows: Row[] = []

    const directPort = await freePort()
    const direct = processes.start(
      'Express app',
      ['app.js'],
      { PATH: process.env.PATH, PORT: String(directPort) },
      { cwd: appDir, stdio: 'ignore' },
    )
    const directUrl = `http://127.0.0.1:${directPort}/bench/hello?q=1`
    await waitHttp(directUrl, direct)
    // The direct app stays up (idle) while the gateway runs: each gateway row is measured right
    // after a direct run with the same connections, so the VM's drift in speed (±30 % over
    // minutes here) does not land on one side of the ratio.

    const strato = await startBenchStrato(processes, reportProblem, {
      gateway: true,
      dataDirPrefix: 'strato-bench-gateway-',
    })
    const base = strato.url
    const code = (await zipDirectory(appDir)).toString('base64')
    for (const shape of SHAPES) {
      const created = (await callApi(base, 'POST', `/v2/${BENCH_PROJECT_ID}/fgs/functions`, {
        func_name: `express-${shape.name.replace('x', '-')}`,
        package: 'default',
        runtime: 'http',
        handler: 'bootstrap',
        memory_size: shape.memoryMb,
        timeout: 30,
        code_type: 'zip',
        func_code: { file: code },
        ...(shape.strategy === undefined ? {} : { strategy_config: shape.strategy }),
      })) as { func_urn: string }
      // The app's own route is /bench/hello: a prefix trigger on /bench hands it requests as
      // they came. One function at a time holds the route.
      const triggers = `/v2/${BENCH_PROJECT_ID}/fgs/triggers/${created.func_urn}`
      await callApi(base, 'POST', triggers, {
        trigger_type_code: 'APIG',
        trigger_status: 'ACTIVE',
        event_data: {
          name: `bench_${shape.name.replace('x', '_')}`,
          path: '/bench',
          req_method: 'GET',
          auth: 'NONE',
          match_mode: 'SWA',
          func_info: { timeout: 30000, invocation_type: 'sync' },
        },
      })
      const url = `${String(strato.gatewayUrl)}/bench/hello?q=1`
      await waitHttp(url, strato.child)
      for (const c of CONNECTIONS) {
        const directRow = await load('Express directly', directUrl, c, direct.proc.pid ?? 0)
        rows.push(directRow)
        const gatewayRow = await load(
          `gateway → HTTP function (${shape.label})`,
          url,
          c,
          strato.child.proc.pid ?? 0,
        )
        rows.push({
          ...gatewayRow,
          directReqPerSec: directRow.reqPerSec,
          directCpuUs: directRow.cpu.stratoUs,
        })
      }
      await callApi(base, 'DELETE', triggers, {})
    }
    const lines = [
      '',
      ...compactTable(
        [
          'target',
          'conns',
          'req/s',
          'p50 ms',
          'p99 ms',
          'failures',
          'direct just before',
          'vs direct',
          'strato µs/req (sys)',
          'instance µs/req',
          'direct app µs/req',
        ],
        rows
          .filter((r) => r.directReqPerSec !== undefined)
          .map((r) => {
            const d = r.directReqPerSec ?? 0
            return [
              r.target,
              String(r.connections),
              String(Math.round(r.reqPerSec)),
              String(r.p50),
              String(r.p99),
              String(r.non2xx),
              String(Math.round(d)),
              formatRatio(ratio(r.reqPerSec, d)),
              `${us(r.cpu.stratoUs)} (${us(r.cpu.stratoSysUs)})`,
              us(r.cpu.instancesUs),
              us(r.directCpuUs ?? NaN),
            ]
          }),
      ),
    ]
    lines.push('')
    for (const c of CONNECTIONS) {
      const direct = rows
        .filter((r) => r.target === 'Express directly' && r.connections === c)
        .map((r) => Math.round(r.reqPerSec))
      lines.push(`Express directly, c=${c}, across the run: ${direct.join(', ')} req/s`)
    }
    console.log(lines.join('\n'))
    fs.writeFileSync(
      path.join(RESULTS_DIR, 'gateway.json'),
      `${JSON.stringify({ date: new Date().toISOString(), loadAvg: os.loadavg(), rows }, null, 2)}\n`,
    )
  } finally {
    await processes.cleanup()
    fs.rmSync(appDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error('bench/gateway: failed:', err)
  process.exitCode = 1
})
