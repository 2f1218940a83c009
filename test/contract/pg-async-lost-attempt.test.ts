/**
 * An attempt cut short on a node that never comes back (cluster mode, PgAsyncQueue on the machine's
 * PostgreSQL): another node's dispatcher sweeps the expired lease back to the queue, writes the
 * lost attempt's log entry (its owner will never write one), and runs the event as attempt 2. Its
 * own expired leases it leaves to the attempts still running here, which log themselves.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, expect, test } from 'vitest'
import { AsyncDispatcher } from '../../src/async/async-dispatcher.js'
import { RetryPolicy } from '../../src/async/retry-policy.js'
import type { InvocationRecord, NewAsyncEvent } from '../../src/core/index.js'
import { createLogger } from '../../src/observability/index.js'
import { PgAsyncQueue } from '../../src/store/pg/pg-async-queue.js'
import { openPgDatabase, type PgDatabase } from '../../src/store/pg/pg-database.js'
import { FakeInvoker, functionRecordOf, resultOf } from '../helpers/fakes.js'
import { freshPgSchema, PG_TEST_URL } from '../helpers/cluster-services.js'

const LEASE_GRACE_MS = 100
const TIMEOUT_MS = 200

let cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.reverse()) {
    await c()
  }
  cleanup = []
})

async function openQueue(schema: string, nodeId: string): Promise<PgAsyncQueue> {
  const db: PgDatabase = await openPgDatabase({ url: PG_TEST_URL, schema, maxConnections: 4 })
  const queue = new PgAsyncQueue(db.db, db.pool, {
    nodeId,
    leaseGraceMs: LEASE_GRACE_MS,
    onError: (err) => {
      throw err
    },
    logsWritten: () => Promise.resolve(),
  })
  await queue.started()
  cleanup.push(async () => {
    await queue.close()
    await db.close()
  })
  return queue
}

function eventOf(functionId: string): NewAsyncEvent {
  return {
    requestId: randomUUID(),
    projectId: 'p1',
    functionId,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:latest`,
    qualifier: 'latest',
    payload: Buffer.from('{}'),
    acceptedAtMs: Date.now(),
    timeoutMs: TIMEOUT_MS,
  }
}

async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 8_000
  for (;;) {
    const value = await check()
    if (value !== undefined) {
      return value
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

function dispatcherOn(
  queue: PgAsyncQueue,
  nodeId: string,
  invoker: FakeInvoker,
  attemptLog: InvocationRecord[],
): AsyncDispatcher {
  const fn = functionRecordOf({ id: 'fa', name: 'fa', maxInstances: 10 })
  const dispatcher = new AsyncDispatcher({
    queue,
    invoker,
    attemptLog: { append: (record) => attemptLog.push(record) },
    resolve: (_projectId, functionUrn) =>
      Promise.resolve({ fn, alias: '', qualifier: 'latest', functionUrn }),
    configOf: () => Promise.resolve(undefined),
    retryPolicy: new RetryPolicy({
      functionErrorBaseMs: 40,
      systemErrorBaseMs: 40,
      systemErrorMaxMs: 200,
    }),
    logger: createLogger('silent'),
    concurrency: 4,
    pollMs: 50,
    maxInstancesPerFunction: 10,
    nodeId,
    leaseSweepMs: 100,
  })
  cleanup.push(async () => {
    dispatcher.stop()
    await dispatcher.idle()
  })
  return dispatcher
}

test("a dead node's attempt is logged once by the node whose sweep recovers it; the rerun is attempt 2", async () => {
  const fresh = freshPgSchema()
  cleanup.push(() => fresh.drop())
  const a = await openQueue(fresh.schema, 'node-a')
  const b = await openQueue(fresh.schema, 'node-b')
  const e = eventOf('fa')
  await a.enqueue(e)
  // Node A leases the event and dies: its attempt never settles nor logs.
  const [leased] = await a.lease({ max: 1, nowMs: Date.now(), room: () => 1 })
  expect(leased?.attempt).toBe(1)

  const attemptLog: InvocationRecord[] = []
  const invoker = new FakeInvoker()
  await dispatcherOn(b, 'node-b', invoker, attemptLog).start()
  // Its start recovers only B's own leases: A's lease runs until it expires.
  expect(attemptLog).toEqual([])

  const rerun = await until(
    () => invoker.calls.find((c) => c.request.requestId === e.requestId),
    'the rerun on node B',
  )
  expect(rerun.request.attempt).toBe(2)
  rerun.resolve(resultOf(e.requestId, 'success'))
  const record = await until(async () => {
    const { records } = await b.list({
      functionId: 'fa',
      requestId: e.requestId,
      offset: 0,
      limit: 1,
    })
    return records[0]?.status === 'SUCCESS' ? records[0] : undefined
  }, 'the event to succeed')
  expect(record.attempts).toBe(2)
  // Every attempt the record counts has its log entry: A's from B's sweep (exactly once), B's
  // own from its invoker (a fake here).
  const lost = attemptLog.filter((r) => r.requestId === e.requestId)
  expect(lost).toHaveLength(1)
  expect(lost[0]).toMatchObject({ attempt: 1, errorType: 'PlatformRestart' })
})

test("the sweep leaves this node's own expired leases to their attempts, which log themselves", async () => {
  const fresh = freshPgSchema()
  cleanup.push(() => fresh.drop())
  const b = await openQueue(fresh.schema, 'node-b')
  const attemptLog: InvocationRecord[] = []
  const invoker = new FakeInvoker()
  const dispatcher = dispatcherOn(b, 'node-b', invoker, attemptLog)
  await dispatcher.start()
  const e = eventOf('fa')
  await b.enqueue(e)
  const first = await until(
    () => invoker.calls.find((c) => c.request.requestId === e.requestId),
    'the first attempt',
  )
  // The attempt hangs past its lease: the sweep returns the event, and it runs again.
  const second = await until(
    () => invoker.calls.find((c) => c.request.requestId === e.requestId && c !== first),
    'the second attempt',
  )
  expect(second.request.attempt).toBe(2)
  expect(attemptLog).toEqual([])
  first.resolve(resultOf(e.requestId, 'success'))
  second.resolve(resultOf(e.requestId, 'success'))
})
