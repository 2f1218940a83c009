/**
 * Strato vs a bare node:http server running the same hello-world handler, measured in one run:
 * cold start, sequential warm latency and autocannon throughput. Run with `npm run bench`.
 *
 * Strato and the bare server each run in their own child process (this process drives the load).
 * Every process started here is stopped on the way out, also on error or Ctrl-C.
 * Timing never fails the run: it exits 1 only when something could not be measured.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type * as SdkCore from '@huaweicloud/huaweicloud-sdk-core'
import type * as SdkFg from '@huaweicloud/huaweicloud-sdk-functiongraph'
import { signRequest } from '../src/auth/index.js'
import { countCpu, formatCpu, type CpuPerRequest } from './process-cpu.js'

const require = createRequire(import.meta.url)
const core = require('@huaweicloud/huaweicloud-sdk-core') as typeof SdkCore
const fg = require('@huaweicloud/huaweicloud-sdk-functiongraph') as typeof SdkFg

// ---------------------------------------------------------------------------------------------
// Settings

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  const n = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got '${raw ?? ''}'`)
  }
  return n
}

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = path.resolve(BENCH_DIR, '..')
const RESULTS_DIR = path.join(BENCH_DIR, 'results')
const STRATO_MAIN = path.join(REPO_ROOT, 'dist', 'main.js')

const PROJECT_ID = '0123456789abcdef0123456789abcdef'
const ACCESS_KEY = 'bench-ak'
const SECRET_KEY = 'bench-sk'

const COLD_N = envInt('BENCH_COLD_N', 20)
const WARM_N = envInt('BENCH_WARM_N', 2000)
const WARM_WARMUP = envInt('BENCH_WARM_WARMUP', 50)
const DURATION_S = envInt('BENCH_DURATION', 10)
const LOAD_WARMUP_S = envInt('BENCH_LOAD_WARMUP', 2)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,8,32')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0)
/**
 * Max instances and concurrent_num of each Strato throughput shape (`BENCH_SHAPES`, `MAXxNUM` list).
 * The bare server serves every connection at once in one process; the like-for-like Strato shape
 * is one instance with single-instance multi-concurrency (FunctionGraph's `concurrent_num`).
 */
const SHAPES = (process.env.BENCH_SHAPES ?? '1x1,4x1,1x100').split(',').map((s) => {
  const [max, num] = s.trim().split('x').map(Number)
  if (!Number.isInteger(max) || !Number.isInteger(num) || (max ?? 0) < 1 || (num ?? 0) < 1) {
    throw new Error(`BENCH_SHAPES entries are MAXxCONCURRENT_NUM, e.g. 1x100; got '${s}'`)
  }
  return { max: max as number, concurrentNum: num as number }
})
/** Only the throughput phases (no cold start, warm latency or async): for quick runs. */
const THROUGHPUT_ONLY = process.env.BENCH_THROUGHPUT_ONLY === '1'
const ASYNC_CONNECTIONS = envInt('BENCH_ASYNC_CONNECTIONS', 32)
const ASYNC_MAX_INSTANCES = envInt('BENCH_ASYNC_MAX_INSTANCES', 4)
/** Only the async phase (accepted/s and drain rate): for quick runs while working on it. */
const ASYNC_ONLY = process.env.BENCH_ASYNC_ONLY === '1'

/** The function under test, byte for byte the same in Strato and in the bare server. */
const HANDLER_SOURCE = "exports.handler = async (event) => ({ statusCode: 200, body: 'hello' })\n"
const EVENT_BODY = '{"hello":"world"}'

/** The bare server: the handler above behind node:http, reading and JSON-parsing the body. */
const BARE_SERVER_SOURCE = `${HANDLER_SOURCE}
const http = require('node:http')
const handler = exports.handler
const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    let event
    try {
      const text = Buffer.concat(chunks).toString('utf8')
      event = text === '' ? {} : JSON.parse(text)
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end(String(err))
      return
    }
    handler(event).then(
      (result) => {
        const body = JSON.stringify(result)
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      },
      (err) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(err))
      },
    )
  })
})
server.keepAliveTimeout = 65000
server.listen(Number(process.env.BARE_PORT), '127.0.0.1')
`

// ---------------------------------------------------------------------------------------------
// Child processes and clean-up

interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly exited: Promise<void>
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  stopping: boolean
}

const children = new Set<Child>()
const dataDirs = new Set<string>()
const problems: string[] = []
let stratoChild: Child | undefined

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let resolveExit: () => void = () => undefined
  const exited = new Promise<void>((resolve) => {
    resolveExit = resolve
  })
  const child: Child = { name, proc, exited, exit: undefined, stopping: false }
  proc.once('exit', (code, signal) => {
    child.exit = { code, signal }
    children.delete(child)
    if (!child.stopping) {
      problems.push(`${name} exited unexpectedly (code ${String(code)}, signal ${String(signal)})`)
    }
    resolveExit()
  })
  proc.once('error', (err) => {
    problems.push(`${name}: ${err.message}`)
    child.exit ??= { code: null, signal: null }
    children.delete(child)
    resolveExit()
  })
  children.add(child)
  return child
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
async function stopChild(child: Child, graceMs = 5000): Promise<void> {
  child.stopping = true
  if (child.exit !== undefined) {
    return
  }
  child.proc.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    child.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs)
    }),
  ])
  clearTimeout(timer)
  if (timedOut) {
    problems.push(`${child.name} did not stop within ${graceMs} ms of SIGTERM; killed`)
    child.proc.kill('SIGKILL')
    await child.exited
  }
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * Kills the process groups of function instances still recorded under `<dataDir>/instances`
 * (each instance leads its own group and writes `pid <start time>` there). Returns how many.
 */
function reapInstances(dataDir: string): number {
  const dir = path.join(dataDir, 'instances')
  let ids: string[]
  try {
    ids = fs.readdirSync(dir)
  } catch {
    return 0
  }
  let killed = 0
  for (const id of ids) {
    let pidText: string | undefined
    let startTime: string | undefined
    try {
      ;[pidText, startTime] = fs
        .readFileSync(path.join(dir, id, 'pid'), 'utf8')
        .trim()
        .split(' ')
    } catch {
      continue
    }
    const pid = Number(pidText)
    if (!Number.isInteger(pid) || pid <= 1) {
      continue
    }
    const now = processStartTime(pid)
    if (now !== undefined && startTime !== undefined && startTime !== '' && now !== startTime) {
      continue // a recycled pid: not ours
    }
    try {
      process.kill(-pid, 'SIGKILL')
      killed++
    } catch {
      // the group is gone
    }
  }
  return killed
}

function removeDataDir(dir: string): void {
  const leftovers = reapInstances(dir)
  if (leftovers > 0) {
    problems.push(
      `${leftovers} function instance process group(s) were still alive after Strato stopped; killed`,
    )
  }
  fs.rmSync(dir, { recursive: true, force: true })
  dataDirs.delete(dir)
}

let cleanedUp: Promise<void> | undefined
function cleanup(): Promise<void> {
  cleanedUp ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)))
    for (const dir of [...dataDirs]) {
      removeDataDir(dir)
    }
  })()
  return cleanedUp
}

// Last resort when the process ends some other way: nothing async is possible here.
process.on('exit', () => {
  for (const c of children) {
    c.proc.kill('SIGKILL')
  }
  for (const dir of dataDirs) {
    reapInstances(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}; stopping everything it started`)
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function waitFor(
  what: string,
  child: Child,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exit !== undefined) {
      throw new Error(`${child.name} exited before ${what} (code ${String(child.exit.code)})`)
    }
    if (await probe().catch(() => false)) {
      return
    }
    await sleep(50)
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`)
}

interface Reply {
  status: number
  body: string
}

function send(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)))
    req.end(body)
  })
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (res.status !== 200) {
    throw new Error(`GET ${url}: ${res.status}`)
  }
  return res.json()
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    return err.message
  }
  try {
    return JSON.stringify(err)
  } catch {
    return String(err)
  }
}

interface Summary {
  n: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN
  }
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? Number.NaN
}

function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b)
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    mean: s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
  }
}

function ms(v: number): string {
  if (!Number.isFinite(v)) {
    return 'n/a'
  }
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// The two servers

interface Strato {
  child: Child
  url: string
  dataDir: string
  logFile: string
  logCounts: { warn: number; error: number; other: number }
  logSamples: string[]
}

async function startStratoProcess(): Promise<Strato> {
  if (!fs.existsSync(STRATO_MAIN)) {
    throw new Error(`${STRATO_MAIN} is missing: run 'npm run build' first (npm run bench does)`)
  }
  const port = await freePort()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-'))
  dataDirs.add(dataDir)
  // BENCH_STRATO_NODE_ARGS: extra node flags for Strato, e.g. '--cpu-prof --cpu-prof-dir=/tmp/p'.
  const nodeArgs = (process.env.BENCH_STRATO_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  const child = startChild('Strato', [...nodeArgs, STRATO_MAIN], {
    PATH: process.env.PATH,
    STRATO_PORT: String(port),
    STRATO_GATEWAY_PORT: '0',
    STRATO_HOST: '127.0.0.1',
    STRATO_DATA_DIR: dataDir,
    STRATO_PROJECT_ID: PROJECT_ID,
    STRATO_ACCESS_KEY: ACCESS_KEY,
    STRATO_SECRET_KEY: SECRET_KEY,
    STRATO_LOG_LEVEL: 'warn',
    // Async settings pass through, to compare e.g. STRATO_ASYNC_FSYNC=0 and 1.
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('STRATO_ASYNC_')),
    ),
  })
  stratoChild = child
  const logFile = path.join(RESULTS_DIR, 'strato.log')
  const log = fs.createWriteStream(logFile)
  const strato: Strato = {
    child,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logFile,
    logCounts: { warn: 0, error: 0, other: 0 },
    logSamples: [],
  }
  const onLine = (line: string): void => {
    log.write(`${line}\n`)
    let level = 0
    try {
      const parsed = JSON.parse(line) as { level?: unknown }
      level = typeof parsed.level === 'number' ? parsed.level : 0
    } catch {
      // not pino output
    }
    if (level >= 50) {
      strato.logCounts.error++
    } else if (level >= 40) {
      strato.logCounts.warn++
    } else {
      strato.logCounts.other++
    }
    if ((level >= 50 || level === 0) && strato.logSamples.length < 5) {
      strato.logSamples.push(line.length > 400 ? `${line.slice(0, 400)}...` : line)
    }
  }
  for (const stream of [child.proc.stdout, child.proc.stderr]) {
    if (stream !== null) {
      readline.createInterface({ input: stream }).on('line', onLine)
    }
  }
  void child.exited.then(() => log.end())
  await waitFor('Strato health', child, async () => {
    const res = await fetch(`${strato.url}/strato/health`, { signal: AbortSignal.timeout(1000) })
    return res.status === 200
  })
  return strato
}

async function startBareServer(): Promise<{ child: Child; url: string }> {
  const port = await freePort()
  const child = startChild('bare node:http server', ['-e', BARE_SERVER_SOURCE], {
    PATH: process.env.PATH,
    BARE_PORT: String(port),
  })
  child.proc.stdout?.resume()
  child.proc.stderr?.on('data', (c: Buffer) => process.stderr.write(`[bare] ${c.toString('utf8')}`))
  const url = `http://127.0.0.1:${port}/`
  const agent = new http.Agent({ keepAlive: false })
  await waitFor(
    'bare server',
    child,
    async () => (await send(agent, url, 'POST', {}, EVENT_BODY)).status === 200,
  )
  return { child, url }
}

// ---------------------------------------------------------------------------------------------
// Strato through the official SDK and through replayed signed requests

type Client = InstanceType<typeof SdkFg.FunctionGraphClient>

function sdkClient(endpoint: string): Client {
  const cred = new core.BasicCredentials()
    .withAk(ACCESS_KEY)
    .withSk(SECRET_KEY)
    .withProjectId(PROJECT_ID)
  return fg.FunctionGraphClient.newBuilder().withCredential(cred).withEndpoint(endpoint).build()
}

async function createFunction(client: Client, name: string): Promise<string> {
  const res = await client.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName(name)
        .withPackage('default')
        .withRuntime('Node.js18.15')
        .withHandler('index.handler')
        .withMemorySize(128)
        .withTimeout(30)
        .withCodeType('inline')
        .withFuncCode(new fg.FuncCode().withFile(Buffer.from(HANDLER_SOURCE).toString('base64'))),
    ),
  )
  // The SDK hands back the JSON as received (snake_case), not an instance with getters.
  const raw = res as unknown as { func_urn?: string; funcUrn?: string }
  const urn = raw.func_urn ?? raw.funcUrn
  if (urn === undefined || urn === '') {
    throw new Error(`createFunction ${name}: no func_urn in the answer`)
  }
  return urn
}

async function deleteFunction(client: Client, urn: string): Promise<void> {
  try {
    await client.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(urn))
  } catch (err) {
    problems.push(`deleteFunction ${urn}: ${describe(err)}`)
  }
}

/** Invokes through the SDK with the v1 envelope; returns whether the function answered 200. */
async function sdkInvoke(client: Client, urn: string): Promise<boolean> {
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCFFRequestVersion('v1')
      .withBody({ hello: 'world' } as unknown as Record<string, object>),
  )
  return res.httpStatusCode === 200 && res.status === 200 && (res.result ?? '').includes('hello')
}

/** One signed invoke request, replayable for 15 minutes (Strato keeps no replay cache). */
function signedInvoke(
  strato: Strato,
  urn: string,
): { url: string; headers: Record<string, string> } {
  const url = `${strato.url}/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations`
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body: EVENT_BODY,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
  return { url, headers }
}

/**
 * Waits (up to `timeoutMs`) until Strato has no busy or starting instance: autocannon closes its
 * connections at the end of a run, but requests already queued inside Strato still run.
 */
async function waitIdle(strato: Strato, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const info = (await getJson(`${strato.url}/strato/info`).catch(() => undefined)) as
      { instances?: { busy?: number; starting?: number } } | undefined
    const i = info?.instances
    if (i !== undefined && (i.busy ?? 0) === 0 && (i.starting ?? 0) === 0) {
      return true
    }
    await sleep(50)
  }
  return false
}

async function liveInstances(strato: Strato): Promise<number | undefined> {
  try {
    const info = (await getJson(`${strato.url}/strato/info`)) as {
      instances?: { idle?: number; busy?: number; starting?: number }
    }
    const i = info.instances
    return i === undefined ? undefined : (i.idle ?? 0) + (i.busy ?? 0) + (i.starting ?? 0)
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface SequentialResult extends Summary {
  target: string
  client: string
  failures: number
  firstFailure?: string
}

async function sequential(
  target: string,
  client: string,
  once: () => Promise<boolean>,
): Promise<SequentialResult> {
  interface Tally {
    failures: number
    first: string | undefined
  }
  const attempt = async (st: Tally): Promise<void> => {
    try {
      if (!(await once())) {
        st.failures++
        st.first ??= 'not a 200 hello answer'
      }
    } catch (err) {
      st.failures++
      st.first ??= describe(err)
    }
  }
  const warmup: Tally = { failures: 0, first: undefined }
  for (let i = 0; i < WARM_WARMUP; i++) {
    await attempt(warmup)
  }
  const st: Tally = { failures: 0, first: undefined }
  const samples: number[] = []
  for (let i = 0; i < WARM_N; i++) {
    const t0 = performance.now()
    await attempt(st)
    samples.push(performance.now() - t0)
  }
  const result: SequentialResult = { target, client, ...summarize(samples), failures: st.failures }
  if (st.first !== undefined) {
    result.firstFailure = st.first
    problems.push(
      `warm latency ${target} via ${client}: ${st.failures}/${WARM_N} failed, first: ${st.first}`,
    )
  }
  return result
}

interface LoadResult {
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

async function load(
  target: string,
  shape: { max: number; concurrentNum: number } | null,
  url: string,
  headers: Record<string, string>,
  expectBody: string,
  connections: number,
  serverPid?: number,
): Promise<LoadResult> {
  const opts: autocannon.Options = {
    url,
    method: 'POST',
    headers,
    body: EVENT_BODY,
    connections,
    pipelining: 1,
    timeout: 10,
    expectBody,
  }
  if (LOAD_WARMUP_S > 0) {
    await autocannon({ ...opts, duration: LOAD_WARMUP_S })
  }
  const cpu = serverPid === undefined ? undefined : countCpu(serverPid)
  const r = await autocannon({ ...opts, duration: DURATION_S })
  const statusCodes: Record<string, number> = {}
  for (const [code, v] of Object.entries(r.statusCodeStats)) {
    statusCodes[code] = v.count
  }
  const res: LoadResult = {
    target,
    maxInstances: shape?.max ?? null,
    concurrentNum: shape?.concurrentNum ?? null,
    connections,
    reqPerSec: r.requests.average,
    latencyP50: r.latency.p50,
    latencyP99: r.latency.p99,
    latencyMax: r.latency.max,
    requests: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    statusCodes,
    durationS: r.duration,
    ...(cpu === undefined ? {} : { cpu: cpu(r.requests.total) }),
  }
  const label = `${target}${shape === null ? '' : ` (max ${shape.max}, concurrent_num ${shape.concurrentNum})`} c=${connections}`
  if (res.non2xx > 0 || res.errors > 0 || res.mismatches > 0) {
    problems.push(
      `throughput ${label}: ${res.non2xx} non-2xx (${JSON.stringify(statusCodes)}), ${res.errors} errors (${res.timeouts} timeouts), ${res.mismatches} unexpected bodies, of ${res.requests + res.errors} requests`,
    )
  }
  console.log(
    `  ${label}: ${Math.round(res.reqPerSec)} req/s, p50 ${res.latencyP50} ms, p99 ${res.latencyP99} ms, non-2xx ${res.non2xx}, errors ${res.errors}${res.cpu === undefined ? '' : `; ${formatCpu(res.cpu)}`}`,
  )
  return res
}

// ---------------------------------------------------------------------------------------------
// Async: accepted/s (each 202 after its event is committed) and the end-to-end drain rate

interface AsyncResult {
  connections: number
  maxInstances: number
  acceptSeconds: number
  accepted: number
  acceptedPerSec: number
  acceptLatencyP50: number
  acceptLatencyP99: number
  non202: number
  errors: number
  /** Events that had already run when acceptance ended. */
  doneWhenAcceptEnded: number
  drainSeconds: number
  /** Everything accepted, divided by the time from the first accept to the last event done. */
  endToEndPerSec: number
  /** Events done after acceptance ended, per second: the drain rate with no accepts competing. */
  drainOnlyPerSec: number
  failedOrDiscarded: number
}

/** How many records of the function have `status` ('active': WAIT or RUNNING). */
async function asyncCount(strato: Strato, urn: string, status: string): Promise<number> {
  const url =
    status === 'active'
      ? `${strato.url}/v2/${PROJECT_ID}/fgs/functions/${urn}/active-async-invocations?limit=1`
      : `${strato.url}/v2/${PROJECT_ID}/fgs/functions/${urn}/async-invocations?status=${status}&limit=1`
  const headers = signRequest({
    method: 'GET',
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body: undefined,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
  const res = await fetch(url, { headers })
  if (res.status !== 200) {
    throw new Error(`listing async records answered ${res.status}: ${await res.text()}`)
  }
  return ((await res.json()) as { count: number }).count
}

async function asyncBench(strato: Strato, client: Client, runId: string): Promise<AsyncResult> {
  const urn = await createFunction(client, `async-${runId}`)
  await client.updateFunctionMaxInstanceConfig(
    new fg.UpdateFunctionMaxInstanceConfigRequest()
      .withFunctionUrn(urn)
      .withBody(
        new fg.UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(ASYNC_MAX_INSTANCES),
      ),
  )
  const url = `${strato.url}/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations-async`
  const headers = signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body: EVENT_BODY,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
  const t0 = performance.now()
  const r = await autocannon({
    url,
    method: 'POST',
    headers,
    body: EVENT_BODY,
    connections: ASYNC_CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    duration: DURATION_S,
  })
  const tAccepted = performance.now()
  const accepted = r.statusCodeStats['202']?.count ?? 0
  const doneWhenAcceptEnded = await asyncCount(strato, urn, 'SUCCESS')
  // Drain: until nothing waits or runs (or 5 minutes).
  let done = doneWhenAcceptEnded
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    const [waiting, running] = await Promise.all([
      asyncCount(strato, urn, 'WAIT'),
      asyncCount(strato, urn, 'RUNNING'),
    ])
    if (waiting + running === 0) {
      break
    }
    await sleep(100)
  }
  const tDrained = performance.now()
  done = await asyncCount(strato, urn, 'SUCCESS')
  const failedOrDiscarded =
    (await asyncCount(strato, urn, 'FAIL')) + (await asyncCount(strato, urn, 'DISCARD'))
  const res: AsyncResult = {
    connections: ASYNC_CONNECTIONS,
    maxInstances: ASYNC_MAX_INSTANCES,
    acceptSeconds: round((tAccepted - t0) / 1000, 2),
    accepted,
    acceptedPerSec: accepted / ((tAccepted - t0) / 1000),
    acceptLatencyP50: r.latency.p50,
    acceptLatencyP99: r.latency.p99,
    non202: r.requests.total - accepted,
    errors: r.errors,
    doneWhenAcceptEnded,
    drainSeconds: round((tDrained - tAccepted) / 1000, 2),
    endToEndPerSec: done / ((tDrained - t0) / 1000),
    drainOnlyPerSec:
      tDrained > tAccepted ? (done - doneWhenAcceptEnded) / ((tDrained - tAccepted) / 1000) : 0,
    failedOrDiscarded,
  }
  if (res.non202 > 0 || res.errors > 0) {
    problems.push(`async accept: ${res.non202} answers other than 202, ${res.errors} errors`)
  }
  // Requests still in flight when autocannon stopped may have been committed without their 202
  // being counted: at most one per connection.
  if (done < accepted || done > accepted + ASYNC_CONNECTIONS || failedOrDiscarded > 0) {
    problems.push(
      `async drain: ${accepted} accepted, ${done} SUCCESS, ${failedOrDiscarded} FAIL or DISCARD`,
    )
  }
  console.log(
    `  accepted ${accepted} in ${res.acceptSeconds} s: ${Math.round(res.acceptedPerSec)}/s (p50 ${res.acceptLatencyP50} ms, p99 ${res.acceptLatencyP99} ms); ` +
      `drained in ${res.drainSeconds} s more: end to end ${Math.round(res.endToEndPerSec)}/s, after acceptance ${Math.round(res.drainOnlyPerSec)}/s`,
  )
  await deleteFunction(client, urn)
  return res
}

// ---------------------------------------------------------------------------------------------
// The run

interface Results {
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

async function phase(results: Results, name: string, fn: () => Promise<void>): Promise<void> {
  if (stratoChild?.exit !== undefined) {
    results.failedPhases.push(`${name}: skipped, Strato is not running`)
    return
  }
  console.log(`\n== ${name}`)
  const t0 = Date.now()
  try {
    await fn()
  } catch (err) {
    console.error(`bench: ${name} failed:`, err)
    results.failedPhases.push(`${name}: ${describe(err)}`)
  }
  console.log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
}

async function run(results: Results): Promise<void> {
  const runId = randomBytes(3).toString('hex')
  const bare = await startBareServer()
  const strato = await startStratoProcess()
  const info = (await getJson(`${strato.url}/strato/info`).catch(() => undefined)) as
    { isolation?: { level?: string } } | undefined
  results.meta.isolation = info?.isolation?.level
  console.log(
    `Strato at ${strato.url} (isolation: ${String(info?.isolation?.level)}), bare server at ${bare.url}`,
  )
  const client = sdkClient(strato.url)
  if (ASYNC_ONLY) {
    await stopChild(bare.child)
  } else {
    await runSyncPhases(results, strato, bare, client, runId)
  }
  if (!THROUGHPUT_ONLY) {
    await phase(
      results,
      `async: accepted/s (durable 202) with ${ASYNC_CONNECTIONS} connections for ${DURATION_S} s, then drain (max instances ${ASYNC_MAX_INSTANCES})`,
      async () => {
        results.async = await asyncBench(strato, client, runId)
      },
    )
  }

  await cleanup()
  results.stratoLog = {
    file: path.relative(REPO_ROOT, strato.logFile),
    ...strato.logCounts,
    samples: strato.logSamples,
  }
}

async function runSyncPhases(
  results: Results,
  strato: Strato,
  bare: { child: Child; url: string },
  client: Client,
  runId: string,
): Promise<void> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })

  const skip = (name: string): boolean => {
    if (THROUGHPUT_ONLY) {
      console.log(`\n== ${name}: skipped (BENCH_THROUGHPUT_ONLY=1)`)
    }
    return THROUGHPUT_ONLY
  }
  if (!skip('cold start')) {
    await phase(results, `cold start (${COLD_N} new functions, first invoke via SDK)`, async () => {
      // One discarded round first: the very first instance pays for Strato's own lazy paths.
      const urns: string[] = []
      const samples: number[] = []
      let failures = 0
      for (let i = 0; i <= COLD_N; i++) {
        const urn = await createFunction(client, `cold-${runId}-${i}`)
        urns.push(urn)
        const t0 = performance.now()
        const ok = await sdkInvoke(client, urn).catch((err: unknown) => {
          problems.push(`cold start invoke ${i}: ${describe(err)}`)
          return false
        })
        const t = performance.now() - t0
        if (!ok) {
          failures++
        } else if (i > 0) {
          samples.push(t)
        }
      }
      for (const urn of urns) {
        await deleteFunction(client, urn)
      }
      await sleep(500) // let the deleted functions' instances go
      results.coldStart = {
        ...summarize(samples),
        samplesMs: samples.map((v) => round(v)),
        failures,
      }
      console.log(`  p50 ${ms(results.coldStart.p50)} ms, p90 ${ms(results.coldStart.p90)} ms`)
    })
  }

  if (!skip('warm latency')) {
    await phase(
      results,
      `warm latency (${WARM_N} sequential invokes after ${WARM_WARMUP} warm-up)`,
      async () => {
        const urn = await createFunction(client, `warm-${runId}`)
        const signed = signedInvoke(strato, urn)
        const bareRes = await send(
          keepAlive,
          bare.url,
          'POST',
          { 'content-type': 'application/json' },
          EVENT_BODY,
        )
        const stratoRes = await send(keepAlive, signed.url, 'POST', signed.headers, EVENT_BODY)
        results.bodies = { bare: bareRes.body, strato: stratoRes.body }
        if (stratoRes.status !== 200 || stratoRes.body !== bareRes.body) {
          problems.push(
            `Strato answered ${stratoRes.status} ${JSON.stringify(stratoRes.body)}; the bare server ${bareRes.status} ${JSON.stringify(bareRes.body)}`,
          )
        }
        const rows: SequentialResult[] = []
        rows.push(
          await sequential('bare node:http', 'http.request keep-alive', async () => {
            const r = await send(
              keepAlive,
              bare.url,
              'POST',
              { 'content-type': 'application/json' },
              EVENT_BODY,
            )
            return r.status === 200
          }),
        )
        rows.push(await sequential('Strato', 'official SDK (v1)', () => sdkInvoke(client, urn)))
        rows.push(
          await sequential('Strato', 'http.request keep-alive (replayed signature)', async () => {
            const r = await send(keepAlive, signed.url, 'POST', signed.headers, EVENT_BODY)
            return r.status === 200
          }),
        )
        for (const r of rows) {
          console.log(`  ${r.target} via ${r.client}: p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms`)
        }
        results.warm = rows
        await deleteFunction(client, urn)
      },
    )
  }
  keepAlive.destroy()

  await phase(
    results,
    `throughput: bare node:http (autocannon ${LOAD_WARMUP_S}+${DURATION_S} s per run)`,
    async () => {
      const expect = results.bodies.bare ?? JSON.stringify({ statusCode: 200, body: 'hello' })
      for (const c of CONNECTIONS) {
        const r = await load(
          'bare node:http',
          null,
          bare.url,
          { 'content-type': 'application/json' },
          expect,
          c,
        )
        results.throughput.push(r)
      }
    },
  )
  const bareExpect = results.bodies.bare ?? JSON.stringify({ statusCode: 200, body: 'hello' })
  for (const shape of SHAPES) {
    const { max, concurrentNum } = shape
    const name = `max instances = ${max}, concurrent_num = ${concurrentNum}`
    await phase(results, `throughput: Strato, ${name}`, async () => {
      const urn = await createFunction(client, `load${max}x${concurrentNum}-${runId}`)
      if (concurrentNum !== 1) {
        await client.updateFunctionConfig(
          new fg.UpdateFunctionConfigRequest()
            .withFunctionUrn(urn)
            .withBody(
              new fg.UpdateFunctionConfigRequestBody()
                .withFuncName(`load${max}x${concurrentNum}-${runId}`)
                .withRuntime('Node.js18.15')
                .withHandler('index.handler')
                .withMemorySize(128)
                .withTimeout(30)
                .withStrategyConfig(
                  new fg.StrategyConfig().withConcurrency(max).withConcurrentNum(concurrentNum),
                ),
            ),
        )
      }
      const updated = await client.updateFunctionMaxInstanceConfig(
        new fg.UpdateFunctionMaxInstanceConfigRequest()
          .withFunctionUrn(urn)
          .withBody(new fg.UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(max)),
      )
      const applied = (updated as unknown as { strategy_config?: { concurrency?: number } })
        .strategy_config?.concurrency
      if (applied === undefined) {
        problems.push(`config-max-instance ${max}: no strategy_config in Strato's answer`)
      }
      if (applied !== undefined && applied !== max) {
        problems.push(
          `config-max-instance ${max}: Strato reports strategy_config.concurrency ${applied}`,
        )
      }
      const signed = signedInvoke(strato, urn)
      const probe = await send(new http.Agent(), signed.url, 'POST', signed.headers, EVENT_BODY)
      if (probe.status !== 200) {
        throw new Error(`signed replay request answered ${probe.status}: ${probe.body}`)
      }
      for (const c of CONNECTIONS) {
        // The bare server again, right before: this VM's speed drifts by ±30 % over minutes, and
        // a ratio of runs minutes apart would measure the drift as much as Strato. (It is idle
        // while Strato runs, as Strato's instance is while it runs.)
        const pairedBare = await load(
          'bare node:http (paired)',
          null,
          bare.url,
          { 'content-type': 'application/json' },
          bareExpect,
          c,
        )
        const r = await load(
          'Strato',
          shape,
          signed.url,
          signed.headers,
          probe.body,
          c,
          strato.child.proc.pid,
        )
        r.liveInstancesAfter = await liveInstances(strato)
        r.bareJustBefore = pairedBare.reqPerSec
        if (pairedBare.reqPerSec > 0) {
          r.ratioToBare = r.reqPerSec / pairedBare.reqPerSec
        }
        results.throughput.push(r)
      }
      if (!(await waitIdle(strato))) {
        problems.push(`${name}: Strato still had busy instances 5 s after the load ended`)
      }
      await deleteFunction(client, urn)
    })
  }
  await stopChild(bare.child)
}

function report(results: Results): string {
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
  out.push(`## Warm latency: ${WARM_N} sequential requests, one at a time`, '')
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
  out.push(
    `## Throughput: autocannon, ${DURATION_S} s per row after ${LOAD_WARMUP_S} s warm-up`,
    '',
  )
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
        r.ratioToBare === undefined ? '-' : r.ratioToBare.toFixed(3),
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

async function main(): Promise<number> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  const cpus = os.cpus()
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      loadAvgAtStart: os.loadavg().map((v) => round(v, 2)),
      settings: {
        coldN: COLD_N,
        warmN: WARM_N,
        warmWarmup: WARM_WARMUP,
        durationS: DURATION_S,
        loadWarmupS: LOAD_WARMUP_S,
        connections: CONNECTIONS,
        shapes: SHAPES,
        asyncConnections: ASYNC_CONNECTIONS,
        asyncMaxInstances: ASYNC_MAX_INSTANCES,
        asyncOnly: ASYNC_ONLY,
      },
    },
    warm: [],
    throughput: [],
    bodies: {},
    problems,
    failedPhases: [],
  }
  const t0 = Date.now()
  try {
    await run(results)
  } catch (err) {
    console.error('bench: failed:', err)
    results.failedPhases.push(`setup: ${describe(err)}`)
  } finally {
    await cleanup()
  }
  results.meta.totalSeconds = Math.round((Date.now() - t0) / 1000)
  const text = report(results)
  console.log(`\n${text}`)
  const jsonFile = path.join(RESULTS_DIR, 'latest.json')
  fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  console.log(
    `Results written to ${path.relative(process.cwd(), jsonFile)} (${String(results.meta.totalSeconds)} s)`,
  )
  return results.failedPhases.length === 0 ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error('bench: unexpected failure:', err)
    process.exitCode = 1
  },
)
