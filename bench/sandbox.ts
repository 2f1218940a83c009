/**
 * What the sandbox costs: cold start with pre-started stem cells, without them, and without any
 * sandbox (`rlimits`), and warm throughput with and without the sandbox, all in one run.
 * Run with `npm run bench` (after bench/run.ts) or `node --import tsx bench/sandbox.ts`.
 *
 * Each configuration runs its own Strato child process on a fresh data dir; every process and dir
 * started here is removed on the way out. Timing never fails the run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { signRequest } from '../src/auth/index.js'
import { freePort } from '../test/helpers/strato.js'

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(BENCH_DIR, '..')
const RESULTS_DIR = path.join(BENCH_DIR, 'results')
const PROJECT_ID = '0123456789abcdef0123456789abcdef'
const ACCESS_KEY = 'bench-ak'
const SECRET_KEY = 'bench-sk'
const COLD_N = Number(process.env.BENCH_COLD_N ?? 20)
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const CONNECTIONS = 8
const HANDLER = 'exports.handler = async (event) => ({ statusCode: 200, body: "hello" })'
const EVENT = '{"hello":"world"}'

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

function signed(
  base: string,
  method: string,
  pathname: string,
  body: string,
): { url: string; headers: Record<string, string> } {
  const url = `${base}${pathname}`
  const headers = signRequest({
    method,
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
  return { url, headers }
}

async function call(base: string, method: string, pathname: string, body = ''): Promise<Response> {
  const s = signed(base, method, pathname, body)
  return fetch(s.url, { method, headers: s.headers, body: body === '' ? undefined : body })
}

async function createFunction(base: string, name: string, maxInstances?: number): Promise<string> {
  const res = await call(
    base,
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions`,
    JSON.stringify({
      func_name: name,
      package: 'default',
      runtime: 'Node.js18.15',
      handler: 'index.handler',
      memory_size: 128,
      timeout: 30,
      code_type: 'inline',
      func_code: { file: Buffer.from(HANDLER).toString('base64') },
      ...(maxInstances === undefined ? {} : { strategy_config: { concurrency: maxInstances } }),
    }),
  )
  const json = (await res.json()) as { func_urn?: string; error_msg?: string }
  if (json.func_urn === undefined) {
    throw new Error(`create ${name}: ${res.status} ${json.error_msg ?? ''}`)
  }
  return json.func_urn
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function measure(config: Config): Promise<Row> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-sandbox-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      STRATO_PORT: String(port),
      STRATO_GATEWAY_PORT: '0',
      STRATO_DATA_DIR: dataDir,
      STRATO_PROJECT_ID: PROJECT_ID,
      STRATO_ACCESS_KEY: ACCESS_KEY,
      STRATO_SECRET_KEY: SECRET_KEY,
      STRATO_LOG_LEVEL: 'warn',
      ...config.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/strato/health`)
        .then((r) => r.status === 200)
        .catch(() => false)
      if (ok) {
        break
      }
      if (i > 200 || child.exitCode !== null) {
        throw new Error(`Strato (${config.label}) did not start`)
      }
      await sleep(50)
    }
    const info = (await (await fetch(`${base}/strato/info`)).json()) as {
      isolation: { level: string }
    }
    // Cold starts: a new function each time, first invoke timed end to end. The pause before each
    // lets the pool refill, as it would between cold starts that are not a burst.
    const samples: number[] = []
    let failures = 0
    for (let i = 0; i <= COLD_N; i++) {
      const urn = await createFunction(base, `cold-${i}`)
      await sleep(400)
      const s = signed(base, 'POST', `/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations`, EVENT)
      const t0 = performance.now()
      const res = await fetch(s.url, { method: 'POST', headers: s.headers, body: EVENT })
      const text = await res.text()
      const t = performance.now() - t0
      if (res.status !== 200 || !text.includes('hello')) {
        failures++
      } else if (i > 0) {
        samples.push(t) // the first one pays for Strato's own lazy paths
      }
      await call(base, 'DELETE', `/v2/${PROJECT_ID}/fgs/functions/${urn}`)
    }
    samples.sort((a, b) => a - b)
    // Warm throughput: one function, 4 instances at most, 8 connections.
    const urn = await createFunction(base, 'warm', 4)
    const s = signed(base, 'POST', `/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations`, EVENT)
    const opts = { url: s.url, method: 'POST' as const, headers: s.headers, body: EVENT }
    await autocannon({ ...opts, connections: CONNECTIONS, duration: 2 })
    const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: DURATION_S })
    const row: Row = {
      config: config.label,
      isolation: info.isolation.level,
      coldP50: percentile(samples, 50),
      coldP90: percentile(samples, 90),
      coldMax: samples.at(-1) ?? 0,
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
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(t)
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  console.log(
    `\n== sandbox cost: ${COLD_N} cold starts and ${DURATION_S} s of warm load per configuration`,
  )
  const rows: Row[] = []
  for (const config of CONFIGS) {
    rows.push(await measure(config))
  }
  const lines = [
    '',
    '| configuration | isolation | cold p50 ms | cold p90 ms | cold max ms | warm req/s (c=8, 4 inst.) | warm p99 ms | failures |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.config} | ${r.isolation} | ${r.coldP50.toFixed(1)} | ${r.coldP90.toFixed(1)} | ${r.coldMax.toFixed(1)} | ${Math.round(r.warmReqPerSec)} | ${r.warmP99} | ${r.coldFailures + r.warmNon2xx} |`,
    ),
  ]
  const sandboxed = rows.find((r) => r.config === 'sandbox, stem cells on')
  const plain = rows.find((r) => r.isolation === 'rlimits')
  if (sandboxed !== undefined && plain !== undefined && plain.warmReqPerSec > 0) {
    lines.push(
      '',
      `warm throughput, sandbox / no sandbox: ${(sandboxed.warmReqPerSec / plain.warmReqPerSec).toFixed(3)}`,
    )
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
