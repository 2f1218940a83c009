/**
 * The cluster async queue, measured before choosing (ADR 0026): what a durable accept costs on
 * this machine as (a) a JetStream publish acked by a file-storage stream and (b) a PostgreSQL
 * commit, one row per commit and group-committed (PgAsyncQueue: one multi-row insert per
 * event-loop turn), at 1 and 32 concurrent producers; then the lease+settle cost of each (a pull
 * consumer's fetch + acked ack against PgAsyncQueue's lease + settle). Uses the PostgreSQL and NATS
 * this machine runs (a fresh schema and stream, removed after).
 * Run with `node --import tsx bench/cluster-queue.ts` (`BENCH_QUICK=1`: about a second a row).
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { AckPolicy, connect, StorageType, type JetStreamClient } from 'nats'
import type { LeasedEvent, NewAsyncEvent } from '../src/core/index.js'
import { PgAsyncQueue } from '../src/store/pg/pg-async-queue.js'
import { openPgDatabase } from '../src/store/pg/pg-database.js'
import {
  freshPgSchema,
  NATS_TEST_URL,
  PG_TEST_URL,
  uniqueName,
} from '../test/helpers/cluster-services.js'
import { compactTable, summarize } from './lib/report.js'
import { envInt, RESULTS_DIR } from './lib/settings.js'

const SECONDS = envInt('BENCH_QUEUE_SECONDS', 5, 1)
const LEASE_EVENTS = envInt('BENCH_QUEUE_LEASE_EVENTS', 20_000, 2_000)
/** A typical async event: a 1 KiB JSON body. */
const PAYLOAD = Buffer.from(JSON.stringify({ data: 'x'.repeat(1_000) }))

interface Row {
  readonly what: string
  readonly producers: number
  readonly perSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

function event(functionId: string): NewAsyncEvent {
  return {
    requestId: randomUUID(),
    projectId: 'p1',
    functionId,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:latest`,
    qualifier: 'latest',
    payload: PAYLOAD,
    acceptedAtMs: Date.now(),
    timeoutMs: 30_000,
  }
}

/** `producers` loops calling `once` for SECONDS; throughput and per-call latency. */
async function load(
  what: string,
  producers: number,
  once: () => Promise<unknown>,
  perCall = 1,
): Promise<Row> {
  const latencies: number[] = []
  const end = performance.now() + SECONDS * 1_000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (performance.now() < end) {
        const s = performance.now()
        await once()
        latencies.push(performance.now() - s)
      }
    }),
  )
  const elapsed = (performance.now() - t0) / 1_000
  const sorted = [...latencies].sort((a, b) => a - b)
  const s = summarize(sorted)
  const row = {
    what,
    producers,
    perSec: Math.round((latencies.length * perCall) / elapsed),
    p50Ms: Math.round(s.p50 * 100) / 100,
    p99Ms: Math.round(s.p99 * 100) / 100,
  }
  console.log(
    `${row.what} ×${row.producers}: ${row.perSec}/s p50 ${row.p50Ms} ms p99 ${row.p99Ms} ms`,
  )
  return row
}

async function jetStream(rows: Row[]): Promise<void> {
  const nc = await connect({ servers: NATS_TEST_URL })
  const jsm = await nc.jetstreamManager()
  const name = uniqueName('bench').toUpperCase()
  await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File })
  try {
    const js: JetStreamClient = nc.jetstream()
    for (const producers of [1, 32]) {
      rows.push(
        await load('JetStream publish, acked (file)', producers, () =>
          js.publish(`${name}.events`, PAYLOAD, { msgID: randomUUID() }),
        ),
      )
    }
    // Lease + settle: a pull consumer's fetch of 32, each acked with the server's confirmation.
    await jsm.consumers.add(name, { durable_name: 'workers', ack_policy: AckPolicy.Explicit })
    const consumer = await js.consumers.get(name, 'workers')
    const info = await jsm.streams.info(name)
    const total = Math.min(info.state.messages, LEASE_EVENTS)
    let done = 0
    const t0 = performance.now()
    while (done < total) {
      const batch = await consumer.fetch({ max_messages: 32, expires: 2_000 })
      const acks: Array<Promise<boolean>> = []
      for await (const m of batch) {
        acks.push(m.ackAck())
      }
      await Promise.all(acks)
      done += acks.length
      if (acks.length === 0) {
        break
      }
    }
    const perSec = Math.round(done / ((performance.now() - t0) / 1_000))
    console.log(`JetStream fetch 32 + ackAck: ${perSec}/s`)
    rows.push({ what: 'JetStream fetch(32) + ackAck', producers: 1, perSec, p50Ms: 0, p99Ms: 0 })
  } finally {
    await jsm.streams.delete(name)
    await nc.close()
  }
}

async function postgres(rows: Row[]): Promise<void> {
  const fresh = freshPgSchema()
  const pg = await openPgDatabase({ url: PG_TEST_URL, schema: fresh.schema, maxConnections: 40 })
  const queue = new PgAsyncQueue(pg.db, pg.pool, {
    nodeId: 'bench',
    leaseGraceMs: 10_000,
    onError: (err) => console.error(err),
    logsWritten: () => Promise.resolve(),
  })
  await queue.started()
  try {
    for (const producers of [1, 32]) {
      rows.push(
        await load('PostgreSQL insert, 1 row per commit', producers, () => {
          const e = event('single')
          return pg.pool.query(
            `insert into async_invocations (request_id, project_id, function_id, function_urn,
               qualifier, payload, timeout_ms, status, not_before, accepted_at)
             values ($1, $2, $3, $4, $5, $6, $7, 'WAIT', $8, $8)`,
            [
              e.requestId,
              e.projectId,
              e.functionId,
              e.functionUrn,
              e.qualifier,
              e.payload,
              e.timeoutMs,
              e.acceptedAtMs,
            ],
          )
        }),
      )
    }
    for (const producers of [1, 32]) {
      rows.push(
        await load('PgAsyncQueue.enqueue (group commit)', producers, () =>
          queue.enqueue(event('grouped')),
        ),
      )
    }
    // Lease + settle on a backlog of LEASE_EVENTS in another function, 32 at a time as a
    // dispatcher does: each lease one statement, each settle one commit.
    await Promise.all(Array.from({ length: LEASE_EVENTS }, () => queue.enqueue(event('work'))))
    const leaseMs: number[] = []
    const settleMs: number[] = []
    let done = 0
    const t0 = performance.now()
    for (;;) {
      const s = performance.now()
      const leased: LeasedEvent[] = await queue.lease({
        max: 32,
        nowMs: Date.now(),
        room: (id) => (id === 'work' ? 32 : 0),
      })
      leaseMs.push(performance.now() - s)
      if (leased.length === 0) {
        break
      }
      await Promise.all(
        leased.map(async (l) => {
          const st = performance.now()
          await queue.settle(l, {
            kind: 'done',
            status: 'SUCCESS',
            errorCode: 0,
            errorMessage: '',
            endedAtMs: Date.now(),
            enqueue: [],
            deadLetter: undefined,
          })
          settleMs.push(performance.now() - st)
        }),
      )
      done += leased.length
    }
    const perSec = Math.round(done / ((performance.now() - t0) / 1_000))
    const lease = summarize([...leaseMs].sort((a, b) => a - b))
    const settle = summarize([...settleMs].sort((a, b) => a - b))
    console.log(
      `PgAsyncQueue lease(32) + settle: ${perSec}/s; lease p50 ${lease.p50.toFixed(2)} ms, settle p50 ${settle.p50.toFixed(2)} ms`,
    )
    rows.push({
      what: 'PgAsyncQueue lease(32) + settle each',
      producers: 1,
      perSec,
      p50Ms: Math.round(lease.p50 * 100) / 100,
      p99Ms: Math.round(settle.p50 * 100) / 100,
    })
  } finally {
    await queue.close()
    await pg.close()
    await fresh.drop()
  }
}

async function main(): Promise<void> {
  const rows: Row[] = []
  await jetStream(rows)
  await postgres(rows)
  const table = compactTable(
    ['durable accept / lease', 'producers', 'per s', 'p50 ms', 'p99 ms'],
    rows.map((r) => [
      r.what,
      String(r.producers),
      String(r.perSec),
      String(r.p50Ms),
      String(r.p99Ms),
    ]),
  )
  console.log(table.join('\n'))
  console.log('(lease+settle rows: p50 = lease call, p99 column = settle call p50)')
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  fs.writeFileSync(path.join(RESULTS_DIR, 'cluster-queue.json'), JSON.stringify(rows, null, 2))
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
