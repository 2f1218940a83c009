/**
 * What metrics add to a warm invocation: the CPU of the pool's observer calls (`began` and
 * `finished` on `FunctionMetrics`, what every outcome costs), measured in this process over a
 * million calls, and the CPU of one `/metrics` scrape with 100 functions. Target: ≤ 2 µs per warm
 * invocation. Run by `npm run bench` (last), or `node --import tsx bench/metrics-cost.ts`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {
  FunctionRecord,
  InvocationObserver,
  InvocationRecord,
  InvocationRequest,
} from '../src/core/index.js'
import { FunctionMetrics, createLogger, createMetricsRegistry } from '../src/observability/index.js'
import type { GuestOutcome, InstanceState } from '../src/runtime/index.js'
import { InstancePool, type PooledInstance } from '../src/scheduler/index.js'
import { RESULTS_DIR } from './lib/settings.js'

const CALLS = 1_000_000
const ROUNDS = 5
const FUNCTIONS = 100

function functionOf(i: number): FunctionRecord {
  const now = new Date()
  return {
    id: `f${i}`,
    projectId: 'bench',
    packageName: 'default',
    name: `fn-${i}`,
    codeType: 'zip',
    codeFilename: 'code.zip',
    codeSize: 1,
    digest: 'd',
    revision: 1,
    version: 'latest',
    createdAt: now,
    lastModified: now,
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    memorySizeMb: 128,
    timeoutS: 3,
    userData: '',
    encryptedUserData: '',
    description: '',
    initializerHandler: '',
    initializerTimeoutS: 0,
    dependVersionList: [],
    maxInstances: -1,
    concurrentNum: 1,
    extra: {},
  }
}

function recordOf(durationMs: number): InvocationRecord {
  return {
    requestId: 'r',
    version: 'latest',
    startedAtMs: Date.now(),
    durationMs,
    billedDurationMs: Math.ceil(durationMs),
    memorySizeMb: 128,
    memoryUsedMb: 20,
    errorType: undefined,
    errorMessage: undefined,
    output: '',
  }
}

/** An instance that answers at once: what is left to measure is the pool's own work. */
class InstantInstance implements PooledInstance {
  state: InstanceState = 'idle'
  lastUsedAt = Date.now()
  claimed = 0
  readonly #outcome: GuestOutcome = {
    ok: true,
    body: Buffer.from('"ok"'),
    text: false,
    errorType: undefined,
    memoryUsedMb: 20,
    log: '',
  }
  get hasRoom(): boolean {
    return this.claimed < 1
  }
  claim(): boolean {
    if (this.claimed >= 1) {
      return false
    }
    this.claimed++
    return true
  }
  unclaim(): void {
    this.claimed = Math.max(0, this.claimed - 1)
  }
  invoke(): Promise<GuestOutcome> {
    return Promise.resolve(this.#outcome)
  }
  stop(): Promise<void> {
    this.state = 'stopped'
    return Promise.resolve()
  }
  onExit(): void {}
}

function poolWith(observer: InvocationObserver | undefined): InstancePool {
  return new InstancePool({
    launcher: { launch: () => Promise.resolve(new InstantInstance()) },
    code: { verify: () => Promise.resolve('/code') },
    logs: { append: () => {} },
    logger: createLogger('silent'),
    region: 'bench',
    idleTtlMs: 600_000,
    queueWaitMs: 1_000,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    ...(observer === undefined ? {} : { observer }),
  })
}

/** CPU µs per warm invocation through the pool, median of rounds alternating with and without. */
async function poolCpuMicros(calls: number): Promise<{ without: number; with: number }> {
  const fn = functionOf(0)
  const request: InvocationRequest = {
    fn,
    version: 'latest',
    alias: '',
    requestId: 'r',
    payload: Buffer.from('{}'),
    invokeType: 'sync',
  }
  const pools = { without: poolWith(undefined), with: poolWith(new FunctionMetrics()) }
  const rounds: { without: number[]; with: number[] } = { without: [], with: [] }
  for (let r = 0; r < ROUNDS * 2; r++) {
    const kind = r % 2 === 0 ? 'without' : 'with'
    const pool = pools[kind]
    await pool.invoke(request) // warm
    const before = process.cpuUsage()
    for (let i = 0; i < calls; i++) {
      await pool.invoke(request)
    }
    const used = process.cpuUsage(before)
    rounds[kind].push((used.user + used.system) / calls)
  }
  await pools.without.close()
  await pools.with.close()
  const median = (xs: number[]): number =>
    xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  return { without: median(rounds.without), with: median(rounds.with) }
}

/** CPU µs per call of `body`, the median of ROUNDS rounds of `calls` calls. */
function cpuMicrosPerCall(calls: number, body: (i: number) => void): number {
  const rounds: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage()
    for (let i = 0; i < calls; i++) {
      body(i)
    }
    const used = process.cpuUsage(before)
    rounds.push((used.user + used.system) / calls)
  }
  rounds.sort((a, b) => a - b)
  return rounds[Math.floor(ROUNDS / 2)] ?? Number.NaN
}

async function main(): Promise<void> {
  const metrics = new FunctionMetrics()
  const fns = Array.from({ length: FUNCTIONS }, (_, i) => functionOf(i))
  // Records are made by the pool anyway (the invocation log entry); reused here.
  const records = [0.4, 1.2, 3, 12, 80].map(recordOf)
  const perInvocation = cpuMicrosPerCall(CALLS, (i) => {
    const fn = fns[i % FUNCTIONS] as FunctionRecord
    metrics.began(fn)
    metrics.finished(fn, records[i % records.length] as InvocationRecord, 0.05, -1)
  })
  const pool = await poolCpuMicros(200_000)
  const registry = createMetricsRegistry(metrics, {
    instances: () => ({ idle: 3, busy: 1, starting: 0 }),
  })
  const scrapeBefore = process.cpuUsage()
  const scrapes = 20
  let bytes = 0
  for (let i = 0; i < scrapes; i++) {
    bytes = (await registry.metrics()).length
  }
  const scrapeUsed = process.cpuUsage(scrapeBefore)
  const scrapeMs = (scrapeUsed.user + scrapeUsed.system) / scrapes / 1000
  const result = {
    date: new Date().toISOString(),
    loadAvg: os.loadavg(),
    observerCpuMicrosPerWarmInvocation: Math.round(perInvocation * 1000) / 1000,
    targetMicros: 2,
    poolCpuMicrosPerWarmInvocation: {
      withoutObserver: Math.round(pool.without * 1000) / 1000,
      withObserver: Math.round(pool.with * 1000) / 1000,
    },
    scrape: { functions: FUNCTIONS, cpuMs: Math.round(scrapeMs * 100) / 100, bytes },
  }
  console.log('\nMetrics cost (bench/metrics-cost.ts)')
  console.log(
    `  per warm invocation (observer began + finished): ${result.observerCpuMicrosPerWarmInvocation} µs CPU (target ≤ 2 µs)`,
  )
  console.log(
    `  whole pool invoke (instant instance): ${result.poolCpuMicrosPerWarmInvocation.withoutObserver} µs CPU without metrics, ${result.poolCpuMicrosPerWarmInvocation.withObserver} µs with (+${Math.round((pool.with - pool.without) * 1000) / 1000} µs)`,
  )
  console.log(
    `  one /metrics scrape, ${FUNCTIONS} functions: ${result.scrape.cpuMs} ms CPU, ${bytes} bytes`,
  )
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'metrics-cost.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  )
}

main().catch((err: unknown) => {
  console.error('bench/metrics-cost: failed:', err)
  process.exitCode = 1
})
