/**
 * What metrics add to a warm invocation: the CPU of the pool's observer calls (`began` and
 * `finished` on `FunctionMetrics`, what every outcome costs), measured in this process over a
 * million calls, and the CPU of one `/metrics` scrape with 100 functions. Target: ≤ 2 µs per warm
 * invocation. Run by `npm run bench` (last), or `node --import tsx bench/metrics-cost.ts`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { FunctionRecord, InvocationRecord } from '../src/core/index.js'
import { FunctionMetrics, createMetricsRegistry } from '../src/observability/index.js'
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
    scrape: { functions: FUNCTIONS, cpuMs: Math.round(scrapeMs * 100) / 100, bytes },
  }
  console.log('\nMetrics cost (bench/metrics-cost.ts)')
  console.log(
    `  per warm invocation (observer began + finished): ${result.observerCpuMicrosPerWarmInvocation} µs CPU (target ≤ 2 µs)`,
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
