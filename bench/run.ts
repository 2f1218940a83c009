/**
 * Strato vs a bare node:http server running the same hello-world handler, measured in one run:
 * cold start, sequential warm latency and autocannon throughput, then the async path. Run with
 * `npm run bench`.
 *
 * Strato and the bare server each run in their own child process (this process drives the load).
 * Every process started here is stopped on the way out, also on error or Ctrl-C.
 * Timing never fails the run: it exits 1 only when something could not be measured.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { asyncBench } from './run-async.js'
import { report, type LoadResult, type Results, type SequentialResult } from './run-report.js'
import { EVENT_BODY, startBareServer, type BareServer } from './lib/bare-server.js'
import { ChildProcesses } from './lib/child-processes.js'
import { getJson, sendRequest, type Reply } from './lib/http-request.js'
import { runLoad } from './lib/load.js'
import { formatCpu } from './lib/process-cpu.js'
import { describeError, ms, ratio, round, summarize } from './lib/report.js'
import {
  createHelloFunction,
  deleteFunction,
  sdkClient,
  sdkInvoke,
  setConcurrency,
  setMaxInstances,
  type SdkClient,
} from './lib/sdk-client.js'
import {
  COLD_N,
  DURATION_S,
  envInt,
  LOAD_WARMUP_S,
  QUICK,
  REPO_ROOT,
  RESULTS_DIR,
} from './lib/settings.js'
import { BENCH_PROJECT_ID, signedRequest, type SignedRequest } from './lib/signed-request.js'
import { liveInstances, startBenchStrato, waitIdle, type BenchStrato } from './lib/strato-server.js'

// ---------------------------------------------------------------------------------------------
// Settings (see bench/README.md, Knobs)

const WARM_N = envInt('BENCH_WARM_N', 2000, 50)
const WARM_WARMUP = envInt('BENCH_WARM_WARMUP', 50, 5)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? (QUICK ? '1' : '1,8,32'))
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0)
/**
 * Max instances and concurrent_num of each Strato throughput shape (`BENCH_SHAPES`, `MAXxNUM` list).
 * The bare server serves every connection at once in one process; the like-for-like Strato shape
 * is one instance with single-instance multi-concurrency (FunctionGraph's `concurrent_num`).
 */
const SHAPES = (process.env.BENCH_SHAPES ?? (QUICK ? '1x1' : '1x1,4x1,1x100'))
  .split(',')
  .map((s) => {
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

const BARE_HEADERS = { 'content-type': 'application/json' }
const EXPECTED_BODY = JSON.stringify({ statusCode: 200, body: 'hello' })

const problems: string[] = []
const reportProblem = (problem: string): void => {
  problems.push(problem)
}
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench')

// ---------------------------------------------------------------------------------------------
// Measurements

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
      st.first ??= describeError(err)
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

/** One throughput row: autocannon POSTs of the event to `url`, every answer checked. */
async function load(
  target: string,
  shape: { max: number; concurrentNum: number } | null,
  request: SignedRequest,
  expectBody: string,
  connections: number,
  serverPid?: number,
): Promise<LoadResult> {
  const { result: r, cpu } = await runLoad(
    {
      url: request.url,
      method: 'POST',
      headers: request.headers,
      body: EVENT_BODY,
      connections,
      pipelining: 1,
      timeout: 10,
      expectBody,
    },
    { warmupS: LOAD_WARMUP_S, durationS: DURATION_S, cpuOfPid: serverPid },
  )
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
    ...(cpu === undefined ? {} : { cpu }),
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

/** One signed invoke request, replayable for 15 minutes (Strato keeps no replay cache). */
function signedInvoke(strato: BenchStrato, urn: string): SignedRequest {
  return signedRequest(
    'POST',
    `${strato.url}/v2/${BENCH_PROJECT_ID}/fgs/functions/${urn}/invocations`,
    EVENT_BODY,
  )
}

// ---------------------------------------------------------------------------------------------
// The run

let strato: BenchStrato | undefined

async function phase(results: Results, name: string, fn: () => Promise<void>): Promise<void> {
  if (strato?.child.exit !== undefined) {
    results.failedPhases.push(`${name}: skipped, Strato is not running`)
    return
  }
  console.log(`\n== ${name}`)
  const t0 = Date.now()
  try {
    await fn()
  } catch (err) {
    console.error(`bench: ${name} failed:`, err)
    results.failedPhases.push(`${name}: ${describeError(err)}`)
  }
  console.log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
}

async function run(results: Results): Promise<void> {
  const runId = randomBytes(3).toString('hex')
  const bare = await startBareServer(processes)
  const s = await startBenchStrato(processes, reportProblem, {
    logFile: path.join(RESULTS_DIR, 'strato.log'),
    // Async settings pass through, to compare e.g. STRATO_ASYNC_FSYNC=0 and 1.
    env: Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => e[0].startsWith('STRATO_ASYNC_') && e[1] !== undefined,
      ),
    ),
  })
  strato = s
  const info = (await getJson(`${s.url}/strato/info`).catch(() => undefined)) as
    { isolation?: { level?: string } } | undefined
  results.meta.isolation = info?.isolation?.level
  console.log(
    `Strato at ${s.url} (isolation: ${String(info?.isolation?.level)}), bare server at ${bare.url}`,
  )
  const client = sdkClient(s.url)
  if (ASYNC_ONLY) {
    await processes.stop(bare.child)
  } else {
    await runSyncPhases(results, s, bare, client, runId)
  }
  if (!THROUGHPUT_ONLY) {
    await phase(
      results,
      `async: accepted/s (durable 202) with ${ASYNC_CONNECTIONS} connections for ${DURATION_S} s, then drain (max instances ${ASYNC_MAX_INSTANCES})`,
      async () => {
        results.async = await asyncBench(
          s.url,
          client,
          runId,
          {
            connections: ASYNC_CONNECTIONS,
            maxInstances: ASYNC_MAX_INSTANCES,
            durationS: DURATION_S,
          },
          reportProblem,
        )
      },
    )
  }

  await processes.cleanup()
  const log = s.log
  if (log !== undefined) {
    results.stratoLog = {
      file: path.relative(REPO_ROOT, log.file),
      ...log.counts,
      samples: log.samples,
    }
  }
}

async function runSyncPhases(
  results: Results,
  strato: BenchStrato,
  bare: BareServer,
  client: SdkClient,
  runId: string,
): Promise<void> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const sendBare = (): Promise<Reply> =>
    sendRequest(keepAlive, bare.url, 'POST', BARE_HEADERS, EVENT_BODY)

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
        const urn = await createHelloFunction(client, `cold-${runId}-${i}`)
        urns.push(urn)
        const t0 = performance.now()
        const ok = await sdkInvoke(client, urn).catch((err: unknown) => {
          problems.push(`cold start invoke ${i}: ${describeError(err)}`)
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
        await deleteFunction(client, urn, reportProblem)
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
        const urn = await createHelloFunction(client, `warm-${runId}`)
        const signed = signedInvoke(strato, urn)
        const sendStrato = (): Promise<Reply> =>
          sendRequest(keepAlive, signed.url, 'POST', signed.headers, EVENT_BODY)
        const bareRes = await sendBare()
        const stratoRes = await sendStrato()
        results.bodies = { bare: bareRes.body, strato: stratoRes.body }
        if (stratoRes.status !== 200 || stratoRes.body !== bareRes.body) {
          problems.push(
            `Strato answered ${stratoRes.status} ${JSON.stringify(stratoRes.body)}; the bare server ${bareRes.status} ${JSON.stringify(bareRes.body)}`,
          )
        }
        const rows: SequentialResult[] = []
        rows.push(
          await sequential(
            'bare node:http',
            'http.request keep-alive',
            async () => (await sendBare()).status === 200,
          ),
        )
        rows.push(await sequential('Strato', 'official SDK (v1)', () => sdkInvoke(client, urn)))
        rows.push(
          await sequential(
            'Strato',
            'http.request keep-alive (replayed signature)',
            async () => (await sendStrato()).status === 200,
          ),
        )
        for (const r of rows) {
          console.log(`  ${r.target} via ${r.client}: p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms`)
        }
        results.warm = rows
        await deleteFunction(client, urn, reportProblem)
      },
    )
  }
  keepAlive.destroy()

  const bareRequest = { url: bare.url, headers: BARE_HEADERS }
  await phase(
    results,
    `throughput: bare node:http (autocannon ${LOAD_WARMUP_S}+${DURATION_S} s per run)`,
    async () => {
      const expect = results.bodies.bare ?? EXPECTED_BODY
      for (const c of CONNECTIONS) {
        results.throughput.push(await load('bare node:http', null, bareRequest, expect, c))
      }
    },
  )
  const bareExpect = results.bodies.bare ?? EXPECTED_BODY
  for (const shape of SHAPES) {
    const { max, concurrentNum } = shape
    const name = `max instances = ${max}, concurrent_num = ${concurrentNum}`
    await phase(results, `throughput: Strato, ${name}`, async () => {
      const funcName = `load${max}x${concurrentNum}-${runId}`
      const urn = await createHelloFunction(client, funcName)
      if (concurrentNum !== 1) {
        await setConcurrency(client, urn, funcName, max, concurrentNum)
      }
      const applied = await setMaxInstances(client, urn, max)
      if (applied === undefined) {
        problems.push(`config-max-instance ${max}: no strategy_config in Strato's answer`)
      }
      if (applied !== undefined && applied !== max) {
        problems.push(
          `config-max-instance ${max}: Strato reports strategy_config.concurrency ${applied}`,
        )
      }
      const signed = signedInvoke(strato, urn)
      const probe = await sendRequest(
        new http.Agent(),
        signed.url,
        'POST',
        signed.headers,
        EVENT_BODY,
      )
      if (probe.status !== 200) {
        throw new Error(`signed replay request answered ${probe.status}: ${probe.body}`)
      }
      for (const c of CONNECTIONS) {
        // The bare server again, right before: this VM's speed drifts by ±30 % over minutes, and
        // a ratio of runs minutes apart would measure the drift as much as Strato. (It is idle
        // while Strato runs, as Strato's instance is while it runs.)
        const pairedBare = await load('bare node:http (paired)', null, bareRequest, bareExpect, c)
        const r = await load('Strato', shape, signed, probe.body, c, strato.child.proc.pid)
        r.liveInstancesAfter = await liveInstances(strato.url)
        r.bareJustBefore = pairedBare.reqPerSec
        const toBare = ratio(r.reqPerSec, pairedBare.reqPerSec)
        if (toBare !== undefined) {
          r.ratioToBare = toBare
        }
        results.throughput.push(r)
      }
      if (!(await waitIdle(strato.url))) {
        problems.push(`${name}: Strato still had busy instances 5 s after the load ended`)
      }
      await deleteFunction(client, urn, reportProblem)
    })
  }
  await processes.stop(bare.child)
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
    results.failedPhases.push(`setup: ${describeError(err)}`)
  } finally {
    await processes.cleanup()
  }
  results.meta.totalSeconds = Math.round((Date.now() - t0) / 1000)
  const text = report(results, { warmN: WARM_N, durationS: DURATION_S, loadWarmupS: LOAD_WARMUP_S })
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
