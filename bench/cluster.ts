/**
 * Cluster mode (issue 19): the same measurements on one node on the embedded default (SQLite,
 * in-process queue), on one node on PostgreSQL + NATS, and on three nodes on PostgreSQL + NATS
 * (load spread over the nodes, figures added up): warm sync throughput at 32 connections per node,
 * async accepts per second, drain rate of the accepted events, management latency (create
 * function) and a new function's first invoke. All in one run, on this machine's PostgreSQL and NATS.
 * Run with `node --import tsx bench/cluster.ts` after `npm run build` (`npm run bench` does both).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'nats'
import pg from 'pg'
import { EVENT_BODY } from './lib/bare-server.js'
import { ChildProcesses } from './lib/child-processes.js'
import { runLoad } from './lib/load.js'
import { compactTable, round, summarize } from './lib/report.js'
import { DURATION_S, LOAD_WARMUP_S, RESULTS_DIR, envInt } from './lib/settings.js'
import { BENCH_PROJECT_ID, callApi, signedRequest } from './lib/signed-request.js'
import { startBenchStrato, type BenchStrato } from './lib/strato-server.js'

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222'
const CONNECTIONS = envInt('BENCH_CLUSTER_CONNECTIONS', 32, 8)
const ASYNC_EVENTS = envInt('BENCH_CLUSTER_ASYNC_EVENTS', 3000, 300)
const CREATES = envInt('BENCH_CLUSTER_CREATES', 10, 4)
const IDLE_S = envInt('BENCH_CLUSTER_IDLE_S', 5, 2)
const HELLO = `exports.handler = async () => ({ statusCode: 200, body: 'hello' })`

const reportProblem = (problem: string): void => console.error(`bench/cluster: ${problem}`)
const processes = new ChildProcesses(reportProblem)
processes.stopOnExit('bench/cluster')

interface Setup {
  readonly label: string
  readonly nodes: number
  readonly shared: boolean
}

interface Row {
  readonly setup: string
  readonly nodes: number
  readonly syncReqPerSec: number
  readonly syncP50Ms: number
  readonly asyncAcceptedPerSec: number
  readonly asyncDrainedPerSec: number
  readonly createP50Ms: number
  readonly firstInvokeP50Ms: number
  /** PostgreSQL commits per 1,000 warm sync invocations (shared store only). */
  readonly pgCommitsPer1kSync: number | undefined
  /** PostgreSQL commits and rows written per async event, accept to end (shared store only). */
  readonly pgCommitsPerAsync: number | undefined
  readonly pgRowsPerAsync: number | undefined
  /** PostgreSQL server CPU µs per warm sync invocation and per async event. */
  readonly pgCpuUsPerSync: number | undefined
  readonly pgCpuUsPerAsync: number | undefined
  /** With no requests at all: commits/s and PostgreSQL/NATS CPU (ms per s) the nodes cause. */
  readonly idleCommitsPerSec: number | undefined
  readonly idlePgCpuMsPerSec: number | undefined
  readonly idleNatsCpuMsPerSec: number | undefined
}

/** CPU ms all processes named `comm` used so far (exited children through their parent). */
function serviceCpuMs(comm: string): number {
  let ticks = 0
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (name !== comm) {
        continue
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10 // USER_HZ 100
}

/** What PostgreSQL did for one database so far (its statistics, flushed within ~1 s). */
interface PgActivity {
  readonly commits: number
  readonly rows: number
  /** CPU ms of every PostgreSQL and NATS server process on the machine so far. */
  readonly pgCpuMs: number
  readonly natsCpuMs: number
}

async function pgActivity(database: string | undefined): Promise<PgActivity | undefined> {
  if (database === undefined) {
    return undefined
  }
  await sleep(1_500)
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    const res = await client.query<{ commits: string; rows: string }>(
      `select xact_commit as commits, tup_inserted + tup_updated + tup_deleted as rows
         from pg_stat_database where datname = $1`,
      [database],
    )
    const row = res.rows[0]
    return row === undefined
      ? undefined
      : {
          commits: Number(row.commits),
          rows: Number(row.rows),
          pgCpuMs: serviceCpuMs('postgres'),
          natsCpuMs: serviceCpuMs('nats-server'),
        }
  } finally {
    await client.end()
  }
}

function perUnit(
  before: PgActivity | undefined,
  after: PgActivity | undefined,
  units: number,
  key: keyof PgActivity,
): number | undefined {
  return before === undefined || after === undefined || units === 0
    ? undefined
    : round((after[key] - before[key]) / units, 2)
}

const SETUPS: readonly Setup[] = [
  { label: 'SQLite, in-process', nodes: 1, shared: false },
  { label: 'PostgreSQL + NATS', nodes: 1, shared: true },
  { label: 'PostgreSQL + NATS', nodes: 2, shared: true },
  { label: 'PostgreSQL + NATS', nodes: 3, shared: true },
]

const fnPath = (name: string, rest = ''): string =>
  `/v2/${BENCH_PROJECT_ID}/fgs/functions/urn:fss:local-1:${BENCH_PROJECT_ID}:function:default:${name}:latest${rest}`

function createBody(name: string, extra: object = {}): object {
  return {
    func_name: name,
    package: 'default',
    runtime: 'Node.js18.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 30,
    code_type: 'inline',
    func_code: { file: Buffer.from(HELLO).toString('base64') },
    ...extra,
  }
}

async function startNodes(
  setup: Setup,
  tag: string,
): Promise<{ nodes: BenchStrato[]; database?: string; done(): Promise<void> }> {
  if (!setup.shared) {
    const node = await startBenchStrato(processes, reportProblem, {
      dataDirPrefix: 'strato-bench-cluster-',
    })
    return { nodes: [node], done: () => node.stop() }
  }
  const database = `strato_bench_${tag}_${Date.now().toString(36)}`
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`create database ${database}`)
  await admin.end()
  const storeUrl = new URL(PG_URL)
  storeUrl.pathname = `/${database}`
  const prefix = database.replace(/_/g, '-')
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-bench-key-'))
  const nodes = await Promise.all(
    Array.from({ length: setup.nodes }, (_, i) =>
      startBenchStrato(processes, reportProblem, {
        dataDirPrefix: 'strato-bench-cluster-',
        env: {
          STRATO_STORE_URL: storeUrl.toString(),
          STRATO_NATS_URL: NATS_URL,
          STRATO_NATS_PREFIX: prefix,
          STRATO_NODE_ID: `bench-${i + 1}`,
          STRATO_MASTER_KEY_FILE: path.join(keyDir, 'master.key'),
        },
      }),
    ),
  )
  return {
    nodes,
    database,
    async done() {
      await Promise.all(nodes.map((n) => n.stop()))
      fs.rmSync(keyDir, { recursive: true, force: true })
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      await client.query(`drop database if exists ${database} with (force)`)
      await client.end()
      const nc = await connect({ servers: NATS_URL })
      const jsm = await nc.jetstreamManager()
      for await (const info of jsm.streams.list()) {
        if (info.config.name.includes(prefix)) {
          await jsm.streams.delete(info.config.name)
        }
      }
      await nc.close()
    },
  }
}

async function measure(setup: Setup, tag: string): Promise<Row> {
  const started = await startNodes(setup, tag)
  const nodes = started.nodes
  try {
    const first = nodes[0] as BenchStrato
    // Idle: what the nodes cost PostgreSQL and NATS with nothing to do (polls, heartbeats, leases).
    const idleBefore = await pgActivity(started.database)
    await sleep(IDLE_S * 1000)
    const idleAfter = await pgActivity(started.database)
    // Warm sync throughput: one function, one instance per node serving many at once.
    await callApi(
      first.url,
      'POST',
      `/v2/${BENCH_PROJECT_ID}/fgs/functions`,
      createBody('hello', {
        strategy_config: { concurrency: 4 * setup.nodes, concurrent_num: 100 },
      }),
    )
    const beforeSync = await pgActivity(started.database)
    const loads = await Promise.all(
      nodes.map((node) => {
        const req = signedRequest(
          'POST',
          `${node.url}${fnPath('hello', '/invocations')}`,
          EVENT_BODY,
        )
        return runLoad(
          {
            url: req.url,
            method: 'POST',
            headers: req.headers,
            body: EVENT_BODY,
            connections: CONNECTIONS,
            timeout: 10,
          },
          { warmupS: LOAD_WARMUP_S, durationS: DURATION_S },
        )
      }),
    )
    const afterSync = await pgActivity(started.database)
    const syncRequests = loads.reduce((sum, l) => sum + l.result.requests.total, 0)
    const syncReqPerSec = loads.reduce((sum, l) => sum + l.result.requests.average, 0)
    const syncP50Ms = Math.max(...loads.map((l) => l.result.latency.p50))

    // Async: accepts across the nodes, then the time until every event ended.
    await callApi(
      first.url,
      'POST',
      `/v2/${BENCH_PROJECT_ID}/fgs/functions`,
      createBody('drain', {
        strategy_config: { concurrency: 8 * setup.nodes, concurrent_num: 1 },
      }),
    )
    const beforeAsync = await pgActivity(started.database)
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        while (next < ASYNC_EVENTS) {
          next++
          const node = nodes[c % nodes.length] as BenchStrato
          await callApi(node.url, 'POST', fnPath('drain', '/invocations-async'), { hello: 'world' })
        }
      }),
    )
    const acceptedMs = performance.now() - t0
    for (;;) {
      const page = (await callApi(
        first.url,
        'GET',
        fnPath('drain', '/async-invocations?status=SUCCESS&limit=1'),
      )) as {
        count?: number
      }
      if ((page.count ?? 0) >= ASYNC_EVENTS || performance.now() - t0 > 300_000) {
        break
      }
      await sleep(100)
    }
    const drainedMs = performance.now() - t0
    const afterAsync = await pgActivity(started.database)

    // Management and a new function's first invoke (through the node that did not create it).
    const creates: number[] = []
    const firsts: number[] = []
    for (let i = 0; i < CREATES; i++) {
      const t0 = performance.now()
      await callApi(
        first.url,
        'POST',
        `/v2/${BENCH_PROJECT_ID}/fgs/functions`,
        createBody(`cold${i}`),
      )
      creates.push(performance.now() - t0)
      const other = nodes[((i % nodes.length) + 1) % nodes.length] as BenchStrato
      const t1 = performance.now()
      await callApi(other.url, 'POST', fnPath(`cold${i}`, '/invocations'), { hello: 'world' })
      firsts.push(performance.now() - t1)
    }
    return {
      setup: setup.label,
      nodes: setup.nodes,
      syncReqPerSec: round(syncReqPerSec, 0),
      syncP50Ms: syncP50Ms,
      asyncAcceptedPerSec: round(ASYNC_EVENTS / (acceptedMs / 1000), 0),
      asyncDrainedPerSec: round(ASYNC_EVENTS / (drainedMs / 1000), 0),
      createP50Ms: round(summarize(creates).p50, 1),
      firstInvokeP50Ms: round(summarize(firsts).p50, 1),
      pgCommitsPer1kSync: perUnit(beforeSync, afterSync, syncRequests / 1000, 'commits'),
      pgCommitsPerAsync: perUnit(beforeAsync, afterAsync, ASYNC_EVENTS, 'commits'),
      pgRowsPerAsync: perUnit(beforeAsync, afterAsync, ASYNC_EVENTS, 'rows'),
      pgCpuUsPerSync: perUnit(beforeSync, afterSync, syncRequests / 1000, 'pgCpuMs'),
      pgCpuUsPerAsync: perUnit(beforeAsync, afterAsync, ASYNC_EVENTS / 1000, 'pgCpuMs'),
      // Less the 1.5 s each reading waits for the statistics to flush, which counts in both.
      idleCommitsPerSec: perUnit(idleBefore, idleAfter, IDLE_S + 1.5, 'commits'),
      idlePgCpuMsPerSec: perUnit(idleBefore, idleAfter, IDLE_S + 1.5, 'pgCpuMs'),
      idleNatsCpuMsPerSec: perUnit(idleBefore, idleAfter, IDLE_S + 1.5, 'natsCpuMs'),
    }
  } finally {
    await started.done()
  }
}

const rows: Row[] = []
try {
  for (const [i, setup] of SETUPS.entries()) {
    rows.push(await measure(setup, String(i)))
  }
} finally {
  await processes.cleanup()
}
console.log(
  '\nCluster mode: one node on SQLite and on PostgreSQL + NATS, three nodes (sums over nodes)\n',
)
const header = [
  'setup',
  'nodes',
  'sync req/s',
  'sync p50 ms',
  'async accepted/s',
  'async drained/s',
  'create p50 ms',
  'first invoke p50 ms',
  'PG commits / 1k sync',
  'PG commits / async event',
  'PG rows / async event',
  'PG CPU µs / sync',
  'PG CPU µs / async event',
  'idle: PG commits/s',
  'idle: PG CPU ms/s',
  'idle: NATS CPU ms/s',
]
console.log(
  compactTable(
    header,
    rows.map((r) =>
      [
        r.setup,
        r.nodes,
        r.syncReqPerSec,
        r.syncP50Ms,
        r.asyncAcceptedPerSec,
        r.asyncDrainedPerSec,
        r.createP50Ms,
        r.firstInvokeP50Ms,
        r.pgCommitsPer1kSync ?? '-',
        r.pgCommitsPerAsync ?? '-',
        r.pgRowsPerAsync ?? '-',
        r.pgCpuUsPerSync ?? '-',
        r.pgCpuUsPerAsync ?? '-',
        r.idleCommitsPerSec ?? '-',
        r.idlePgCpuMsPerSec ?? '-',
        r.idleNatsCpuMsPerSec ?? '-',
      ].map(String),
    ),
  ).join('\n'),
)
fs.mkdirSync(RESULTS_DIR, { recursive: true })
fs.writeFileSync(path.join(RESULTS_DIR, 'cluster.json'), `${JSON.stringify(rows, null, 2)}\n`)
