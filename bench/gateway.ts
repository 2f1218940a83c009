/**
 * The API gateway's cost: one Express app (installed from npm), hit directly and as an HTTP
 * function behind an APIG trigger, in the same run, with autocannon over kept-alive connections.
 * Run with `npm run bench` or `node --import tsx bench/gateway.ts`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { signRequest } from '../src/auth/index.js'
import { zipDirectory } from '../test/helpers/code.js'
import { freePort } from '../test/helpers/strato.js'
import { countCpu, formatCpu, type CpuPerRequest } from './process-cpu.js'

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(BENCH_DIR, '..')
const RESULTS_DIR = path.join(BENCH_DIR, 'results')
const PROJECT_ID = '0123456789abcdef0123456789abcdef'
const ACCESS_KEY = 'bench-ak'
const SECRET_KEY = 'bench-sk'
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const CONNECTIONS = [1, 8]
/**
 * The function's memory: its CPU share follows it as FunctionGraph computes it
 * (memory/128*100+200 millicores as cpu.shares), so 1024 MB weighs like one full process.
 */
const MEMORY_MB = Number(process.env.BENCH_GATEWAY_MEMORY_MB ?? 1024)
/** Max instances and concurrent_num (requests one instance serves at once) of each run. */
const SHAPES: ReadonlyArray<{ max: number; concurrentNum: number }> = [
  { max: 1, concurrentNum: 1 },
  { max: 2, concurrentNum: 1 },
  { max: 1, concurrentNum: 8 },
]
/** The app as a developer runs it locally; PORT only so that the direct run can pick a free one. */
const APP = `const express = require('express')
const app = express()
app.get('/bench/hello', (req, res) => res.json({ hello: 'world', q: req.query.q }))
app.listen(Number(process.env.PORT || 8000), '127.0.0.1')
`
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function call(
  base: string,
  method: string,
  pathname: string,
  body: object,
): Promise<unknown> {
  const text = JSON.stringify(body)
  const url = `${base}${pathname}`
  const headers = signRequest({
    method,
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body: text,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
  const res = await fetch(url, { method, headers, body: text })
  if (res.status === 204) {
    return {}
  }
  const json = (await res.json()) as Record<string, unknown>
  if (res.status >= 300) {
    throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(json)}`)
  }
  return json
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(url)
      .then((r) => r.status < 500)
      .catch(() => false)
    if (ok) {
      return
    }
    await sleep(50)
  }
  throw new Error(`${url} did not answer`)
}

interface Row {
  target: string
  connections: number
  /** Gateway rows: req/s of the direct run made just before this one, with the same connections. */
  directReqPerSec?: number
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
  await autocannon({ url, connections, duration: 2 })
  const cpu = countCpu(serverPid)
  const r = await autocannon({ url, connections, duration: DURATION_S })
  const row = {
    target,
    connections,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx + r.errors,
    cpu: cpu(r.requests.total),
  }
  console.log(
    `  ${target} c=${connections}: ${Math.round(row.reqPerSec)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, failures ${row.non2xx}; ${formatCpu(row.cpu)}`,
  )
  return row
}

async function main(): Promise<void> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-express-'))
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-gateway-'))
  const children: ChildProcess[] = []
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
    const direct = spawn(process.execPath, ['app.js'], {
      cwd: appDir,
      env: { PATH: process.env.PATH, PORT: String(directPort) },
      stdio: 'ignore',
    })
    children.push(direct)
    const directUrl = `http://127.0.0.1:${directPort}/bench/hello?q=1`
    await waitHttp(directUrl)
    // The direct app stays up (idle) while the gateway runs: each gateway row is measured right
    // after a direct run with the same connections, so the VM's drift in speed (±30 % over
    // minutes here) does not land on one side of the ratio.

    const port = await freePort()
    const gatewayPort = await freePort()
    // BENCH_STRATO_NODE_ARGS: extra node flags for Strato, e.g. '--cpu-prof --cpu-prof-dir=/tmp/p'.
    const nodeArgs = (process.env.BENCH_STRATO_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
    const strato = spawn(process.execPath, [...nodeArgs, path.join(REPO_ROOT, 'dist', 'main.js')], {
      env: {
        PATH: process.env.PATH,
        STRATO_PORT: String(port),
        STRATO_GATEWAY_PORT: String(gatewayPort),
        STRATO_DATA_DIR: dataDir,
        STRATO_PROJECT_ID: PROJECT_ID,
        STRATO_ACCESS_KEY: ACCESS_KEY,
        STRATO_SECRET_KEY: SECRET_KEY,
        STRATO_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    children.push(strato)
    const base = `http://127.0.0.1:${port}`
    await waitHttp(`${base}/strato/health`)
    const code = (await zipDirectory(appDir)).toString('base64')
    for (const { max, concurrentNum } of SHAPES) {
      const created = (await call(base, 'POST', `/v2/${PROJECT_ID}/fgs/functions`, {
        func_name: `express-${max}-${concurrentNum}`,
        package: 'default',
        runtime: 'http',
        handler: 'bootstrap',
        memory_size: MEMORY_MB,
        timeout: 30,
        code_type: 'zip',
        func_code: { file: code },
        strategy_config: { concurrency: max, concurrent_num: concurrentNum },
      })) as { func_urn: string }
      // The app's own route is /bench/hello: a prefix trigger on /bench hands it requests as
      // they came. One function at a time holds the route.
      await call(base, 'POST', `/v2/${PROJECT_ID}/fgs/triggers/${created.func_urn}`, {
        trigger_type_code: 'APIG',
        trigger_status: 'ACTIVE',
        event_data: {
          name: `bench_${max}_${concurrentNum}`,
          path: '/bench',
          req_method: 'GET',
          auth: 'NONE',
          match_mode: 'SWA',
          func_info: { timeout: 30000, invocation_type: 'sync' },
        },
      })
      const url = `http://127.0.0.1:${gatewayPort}/bench/hello?q=1`
      await waitHttp(url)
      for (const c of CONNECTIONS) {
        const directRow = await load('Express directly', directUrl, c, direct.pid ?? 0)
        rows.push(directRow)
        const gatewayRow = await load(
          `gateway → HTTP function (max ${max} inst., concurrent_num ${concurrentNum})`,
          url,
          c,
          strato.pid ?? 0,
        )
        rows.push({ ...gatewayRow, directReqPerSec: directRow.reqPerSec })
      }
      await call(base, 'DELETE', `/v2/${PROJECT_ID}/fgs/triggers/${created.func_urn}`, {})
    }
    const lines = [
      '',
      '| target | conns | req/s | p50 ms | p99 ms | failures | direct just before | vs direct |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows
        .filter((r) => r.directReqPerSec !== undefined)
        .map((r) => {
          const d = r.directReqPerSec ?? 0
          const ratio = d === 0 ? '-' : (r.reqPerSec / d).toFixed(3)
          return `| ${r.target} | ${r.connections} | ${Math.round(r.reqPerSec)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${Math.round(d)} | ${ratio} |`
        }),
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
    for (const c of children) {
      c.kill('SIGTERM')
    }
    await sleep(2000)
    for (const c of children) {
      c.kill('SIGKILL')
    }
    fs.rmSync(appDir, { recursive: true, force: true })
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error('bench/gateway: failed:', err)
  process.exitCode = 1
})
