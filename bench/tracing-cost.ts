/**
 * The CPU tracing adds to one warm invocation, measured in-process around the tracing invoker:
 * an inner invoker that answers at once but tells the trace what the pool tells it (a slot taken,
 * the function running, its outcome), so all that differs between rows is tracing's own work.
 * The OTLP receiver runs in a child process: its CPU is not counted; the exporter's is (batches
 * are flushed before the clock stops). Run: `node --import tsx bench/tracing-cost.ts`.
 */
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { InvocationRequest, InvocationResult, Invoker } from '../src/core/index.js'
import { Tracing } from '../src/observability/index.js'
import { functionRecordOf } from '../test/helpers/fakes.js'

const N = Number(process.env.BENCH_TRACING_N ?? 100_000)
const ROUNDS = 3

const result: InvocationResult = {
  kind: 'success',
  body: Buffer.from('"ok"'),
  bodyIsText: false,
  record: {
    requestId: 'r',
    attempt: 1,
    version: 'latest',
    startedAtMs: 0,
    durationMs: 1,
    billedDurationMs: 1,
    memorySizeMb: 128,
    memoryUsedMb: 1,
    errorType: undefined,
    errorMessage: undefined,
    output: '',
  },
}

/** What the pool does with a trace on a warm invocation, and nothing else. */
const inner: Invoker = {
  invoke(request: InvocationRequest): Promise<InvocationResult> {
    request.trace?.acquired(Date.now(), undefined)
    request.trace?.executing()
    request.trace?.executed(undefined)
    return Promise.resolve(result)
  },
  forget: () => Promise.resolve(),
}

/** A loopback OTLP receiver in its own process, answering 200 to every export. */
async function startReceiver(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('{}')) })
       s.listen(0, '127.0.0.1', () => console.log(s.address().port))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  )
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() }
}

const fn = functionRecordOf()
const requestIds = Array.from({ length: N }, () => crypto.randomUUID())
const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

async function cpuPerInvocation(
  invoker: Invoker,
  traceparent: string | undefined,
  flush: () => Promise<void>,
): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    await invoker.invoke({
      fn,
      version: 'latest',
      alias: '',
      requestId: requestIds[i]!,
      payload: Buffer.alloc(0),
      invokeType: 'sync',
      ...(traceparent === undefined ? {} : { traceparent }),
    })
    if (i % 1000 === 999) {
      // Let the batch processor's timer and the exporter run, as they would between requests.
      await new Promise((r) => setImmediate(r))
    }
  }
  await flush()
  const used = process.cpuUsage(start)
  return ((used.user + used.system) / N) * 1000 // ns
}

async function main(): Promise<void> {
  const receiver = await startReceiver()
  const none = async (): Promise<void> => {}
  const off = new Tracing({ endpoint: undefined, region: 'r', switchOf: () => false })
  const exportingOff = new Tracing({ endpoint: receiver.url, region: 'r', switchOf: () => false })
  const exportingOn = new Tracing({ endpoint: receiver.url, region: 'r', switchOf: () => true })
  const rows: Array<[string, Invoker, string | undefined, () => Promise<void>]> = [
    ['no tracing invoker (baseline)', inner, undefined, none],
    ['no endpoint', off.wrap(inner), undefined, none],
    ['no endpoint, caller traceparent', off.wrap(inner), SAMPLED, none],
    ['endpoint, switch off', exportingOff.wrap(inner), undefined, () => exportingOff.flush()],
    [
      'endpoint, switch on (4 spans exported)',
      exportingOn.wrap(inner),
      undefined,
      () => exportingOn.flush(),
    ],
  ]
  const best = new Map<string, number>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, invoker, traceparent, flush] of rows) {
      const ns = await cpuPerInvocation(invoker, traceparent, flush)
      best.set(name, Math.min(best.get(name) ?? Infinity, ns))
    }
  }
  const baseline = best.get(rows[0]![0]) ?? 0
  console.log(
    `CPU per invocation, best of ${ROUNDS} rounds of ${N} (${performance.now().toFixed(0)} ms in all):`,
  )
  for (const [name] of rows) {
    const ns = best.get(name) ?? 0
    console.log(
      `  ${name.padEnd(42)} ${(ns / 1000).toFixed(2).padStart(7)} µs   added ${((ns - baseline) / 1000).toFixed(2).padStart(6)} µs`,
    )
  }
  await Promise.all([exportingOff.shutdown(), exportingOn.shutdown()])
  receiver.stop()
}

await main()
