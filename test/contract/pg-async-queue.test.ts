/**
 * PgAsyncQueue (the cluster's async queue) against the AsyncQueue and AsyncRecordRepository
 * contracts, on the PostgreSQL this machine runs (a fresh schema per test), plus what only a
 * cluster does: several nodes on one schema. Fails, never skips, when PostgreSQL is unreachable.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import type { LeasedEvent, NewAsyncEvent } from '../../src/core/index.js'
import { openPgDatabase, type PgDatabase } from '../../src/store/pg/pg-database.js'
import { PgAsyncQueue } from '../../src/store/pg/pg-async-queue.js'
import { freshPgSchema, PG_TEST_URL } from '../helpers/cluster-services.js'
import { runAsyncQueueContract } from './async-queue.contract.js'
import { describeAsyncRecordRepositoryContract } from './async-record-repository.contract.js'
import type { BackendUnderTest, Repositories } from './store-harness.js'

interface Node {
  readonly db: PgDatabase
  readonly queue: PgAsyncQueue
  close(): Promise<void>
}

async function openNode(
  schema: string,
  nodeId: string,
  leaseGraceMs = 1_000,
  logsWritten: () => Promise<void> = () => Promise.resolve(),
): Promise<Node> {
  const db = await openPgDatabase({ url: PG_TEST_URL, schema, maxConnections: 6 })
  const queue = new PgAsyncQueue(db.db, db.pool, {
    nodeId,
    leaseGraceMs,
    onError: (err) => {
      throw err
    },
    logsWritten,
  })
  await queue.started()
  return {
    db,
    queue,
    async close() {
      await queue.close()
      await db.close()
    },
  }
}

/** This backend's repositories: only the async ones; touching another is a test's bug. */
function asyncOnly(queue: PgAsyncQueue): Repositories {
  const repos: Partial<Repositories> = { asyncQueue: queue, asyncRecords: queue }
  return new Proxy(repos, {
    get(target, key: string) {
      const value = target[key as keyof Repositories]
      if (value === undefined) {
        throw new Error(`The PostgreSQL async backend has no '${key}' repository.`)
      }
      return value
    },
  }) as Repositories
}

runAsyncQueueContract('PgAsyncQueue', async () => {
  const fresh = freshPgSchema()
  let node = await openNode(fresh.schema, 'node-a')
  return {
    queue: node.queue,
    async reopen() {
      await node.close()
      node = await openNode(fresh.schema, 'node-a')
      return node.queue
    },
    async close() {
      await node.close()
      await fresh.drop()
    },
  }
})

describeAsyncRecordRepositoryContract('PgAsyncQueue', async (): Promise<BackendUnderTest> => {
  const fresh = freshPgSchema()
  let node = await openNode(fresh.schema, 'node-a')
  return {
    repos: asyncOnly(node.queue),
    async reopen() {
      await node.close()
      node = await openNode(fresh.schema, 'node-a')
      return asyncOnly(node.queue)
    },
    async close() {
      await node.close()
      await fresh.drop()
    },
  }
})

function event(functionId: string, extra: Partial<NewAsyncEvent> = {}): NewAsyncEvent {
  return {
    requestId: randomUUID(),
    projectId: 'p1',
    functionId,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:latest`,
    qualifier: 'latest',
    payload: Buffer.from('{}'),
    acceptedAtMs: Date.now(),
    timeoutMs: 1_000,
    ...extra,
  }
}

const always = (n: number) => (): number => n

describe('PgAsyncQueue in a cluster: several nodes on one schema', () => {
  let cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanup.reverse()) {
      await c()
    }
    cleanup = []
  })
  async function twoNodes(leaseGraceMs = 1_000): Promise<[PgAsyncQueue, PgAsyncQueue]> {
    const fresh = freshPgSchema()
    cleanup.push(() => fresh.drop())
    const a = await openNode(fresh.schema, 'node-a', leaseGraceMs)
    cleanup.push(() => a.close())
    const b = await openNode(fresh.schema, 'node-b', leaseGraceMs)
    cleanup.push(() => b.close())
    return [a.queue, b.queue]
  }

  test('two nodes leasing at once take disjoint events: none is leased twice', async () => {
    const [a, b] = await twoNodes()
    const events = Array.from({ length: 600 }, (_, i) => event(`f${i % 6}`))
    await Promise.all(events.map((e) => a.enqueue(e)))
    const seen: string[] = []
    const drain = async (q: PgAsyncQueue): Promise<void> => {
      for (;;) {
        const got = await q.lease({ max: 7, nowMs: Date.now(), room: always(3) })
        if (got.length === 0) {
          return
        }
        seen.push(...got.map((l) => l.requestId))
      }
    }
    await Promise.all([drain(a), drain(b), drain(a), drain(b)])
    expect(seen).toHaveLength(600)
    expect(new Set(seen).size).toBe(600)
  })

  test("recoverLeases({ all: true }) at a node's start takes only its own leases", async () => {
    const [a, b] = await twoNodes()
    await a.enqueue(event('fa'))
    await a.enqueue(event('fa'))
    const [byA] = await a.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    const [byB] = await b.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    expect(byA).toBeDefined()
    expect(byB).toBeDefined()
    const recovered = await b.recoverLeases({ nowMs: Date.now(), all: true })
    expect(recovered.map((r) => r.requestId)).toEqual([byB?.requestId])
    // A's lease still holds: it settles.
    expect(
      await a.settle(byA as LeasedEvent, {
        kind: 'done',
        status: 'SUCCESS',
        errorCode: 0,
        errorMessage: '',
        endedAtMs: Date.now(),
        enqueue: [],
        deadLetter: undefined,
      }),
    ).toBe(true)
  })

  test("a dead node's expired lease is recovered and redelivered by another node", async () => {
    const [a, b] = await twoNodes(50)
    const e = event('fa', { timeoutMs: 100 })
    await a.enqueue(e)
    const [held] = await a.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    expect(held?.requestId).toBe(e.requestId)
    // Node A dies here: nothing of it settles. Before the lease ends, B takes nothing.
    expect(await b.recoverLeases({ nowMs: Date.now(), all: false })).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 200))
    const recovered = await b.recoverLeases({ nowMs: Date.now(), all: false })
    expect(recovered).toMatchObject([{ requestId: e.requestId, attempt: 1 }])
    const [again] = await b.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    expect(again).toMatchObject({ requestId: e.requestId, attempt: 2, systemErrors: 1 })
    // A's stale lease cannot settle any more.
    const done = {
      kind: 'done' as const,
      status: 'SUCCESS' as const,
      errorCode: 0,
      errorMessage: '',
      endedAtMs: Date.now(),
      enqueue: [],
      deadLetter: undefined,
    }
    expect(await a.settle(held as LeasedEvent, done)).toBe(false)
    expect(await b.settle(again as LeasedEvent, done)).toBe(true)
  })

  test('two nodes sweeping at once recover each expired lease once', async () => {
    const [a, b] = await twoNodes(10)
    await Promise.all(Array.from({ length: 40 }, () => a.enqueue(event('fa', { timeoutMs: 10 }))))
    const held = await a.lease({ max: 40, nowMs: Date.now(), room: always(40) })
    expect(held).toHaveLength(40)
    const later = Date.now() + 1_000
    const swept = await Promise.all([
      a.recoverLeases({ nowMs: later, all: false }),
      b.recoverLeases({ nowMs: later, all: false }),
      b.recoverLeases({ nowMs: later, all: false }),
    ])
    const ids = swept.flat().map((r) => r.requestId)
    expect(ids).toHaveLength(40)
    expect(new Set(ids).size).toBe(40)
    const again = await b.lease({ max: 40, nowMs: later, room: always(40) })
    expect(again.every((l) => l.systemErrors === 1 && l.attempt === 2)).toBe(true)
  })

  test('events of 256 KiB accepted in one turn are split over several commits', async () => {
    const [a, b] = await twoNodes()
    const big = Buffer.alloc(256 * 1024, 'a')
    await Promise.all(Array.from({ length: 200 }, () => a.enqueue(event('big', { payload: big }))))
    const { total } = await b.list({ functionId: 'big', offset: 0, limit: 1 })
    expect(total).toBe(200)
    const [one] = await b.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    expect(one?.payload.equals(big)).toBe(true)
  }, 30_000)

  test('one request id enqueued by two nodes at once yields one event', async () => {
    const [a, b] = await twoNodes()
    const ticks = Array.from({ length: 50 }, () => event('timer'))
    await Promise.all(
      ticks.flatMap((t) => [
        a.enqueue({ ...t, payload: Buffer.from('{"node":"a"}') }),
        b.enqueue({ ...t, payload: Buffer.from('{"node":"b"}') }),
      ]),
    )
    // And twice in one turn of one node (one multi-row insert).
    const twice = event('timer')
    await Promise.all([a.enqueue(twice), a.enqueue({ ...twice, payload: Buffer.from('2') })])
    const { total } = await a.list({ functionId: 'timer', offset: 0, limit: 1 })
    expect(total).toBe(51)
  })

  test("an enqueue on one node wakes the other's onReady", async () => {
    const [a, b] = await twoNodes()
    const woken = new Promise<void>((resolve) => b.onReady(resolve))
    await a.enqueue(event('fa'))
    await woken
    const leased = await b.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    expect(leased).toHaveLength(1)
  })

  test('the backlog figure counts WAIT events of every node once read again', async () => {
    const [a, b] = await twoNodes()
    expect(a.backlog()).toEqual({ waiting: 0, oldestAcceptedAtMs: undefined })
    await a.enqueue(event('fa', { acceptedAtMs: 1_000 }))
    await b.enqueue(event('fb'))
    await b.lease({ max: 1, nowMs: Date.now(), room: (id) => (id === 'fb' ? 1 : 0) })
    await a.refreshBacklog()
    expect(a.backlog()).toEqual({ waiting: 1, oldestAcceptedAtMs: 1_000 })
  })

  test("a settlement commits only after the attempt's logs are written", async () => {
    const fresh = freshPgSchema()
    cleanup.push(() => fresh.drop())
    let written: () => void = () => undefined
    const logs = new Promise<void>((resolve) => {
      written = resolve
    })
    const node = await openNode(fresh.schema, 'node-a', 1_000, () => logs)
    cleanup.push(() => node.close())
    const e = event('fa')
    await node.queue.enqueue(e)
    const [l] = await node.queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
    const settled = node.queue.settle(l as LeasedEvent, {
      kind: 'done',
      status: 'SUCCESS',
      errorCode: 0,
      errorMessage: '',
      endedAtMs: Date.now(),
      enqueue: [],
      deadLetter: undefined,
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const before = await node.queue.list({ functionId: 'fa', offset: 0, limit: 1 })
    expect(before.records[0]?.status).toBe('RUNNING')
    written()
    expect(await settled).toBe(true)
    const after = await node.queue.list({ functionId: 'fa', offset: 0, limit: 1 })
    expect(after.records[0]?.status).toBe('SUCCESS')
  })
})

describe('PgAsyncQueue with text PostgreSQL cannot hold', () => {
  let cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanup.reverse()) {
      await c()
    }
    cleanup = []
  })

  test('settlements whose error message, dead letter or destination hold a NUL commit with the enqueues of their group commit', async () => {
    const fresh = freshPgSchema()
    cleanup.push(() => fresh.drop())
    const node = await openNode(fresh.schema, 'node-a')
    cleanup.push(() => node.close())
    const q = node.queue
    const [e1, e2, e3] = [event('fa'), event('fa'), event('fa')]
    await Promise.all([q.enqueue(e1), q.enqueue(e2), q.enqueue(e3)])
    const leased = await q.lease({ max: 3, nowMs: Date.now(), room: always(3) })
    const byId = new Map(leased.map((l) => [l.requestId, l]))
    const l1 = byId.get(e1.requestId) as LeasedEvent
    const l2 = byId.get(e2.requestId) as LeasedEvent
    const l3 = byId.get(e3.requestId) as LeasedEvent
    const destination = event('dest', {
      triggerId: 't\0',
      contextHeaders: { 'x-h': 'v\0' },
    })
    const now = Date.now()
    // One turn: the settlements and the unrelated enqueue share one group commit.
    const results = await Promise.all([
      // Plain terminal: new Error("a\0b") thrown by the function.
      q.settle(l1, {
        kind: 'done',
        status: 'FAIL',
        errorCode: 500,
        errorMessage: 'Error: a\0b',
        endedAtMs: now,
        enqueue: [],
        deadLetter: undefined,
      }),
      // With a dead letter and a destination event.
      q.settle(l2, {
        kind: 'done',
        status: 'FAIL',
        errorCode: 500,
        errorMessage: 'Error: c\0d',
        endedAtMs: now,
        enqueue: [destination],
        deadLetter: {
          projectId: 'p1',
          functionId: 'fa',
          requestId: e2.requestId,
          createdAtMs: now,
          record: '{"error":"c\\u0000d","raw":"\0"}',
        },
      }),
      q.settle(l3, {
        kind: 'retry',
        notBeforeMs: now + 60_000,
        functionError: true,
        errorMessage: 'Error: e\0f',
      }),
      q.enqueue(event('other')).then(() => true),
    ])
    expect(results).toEqual([true, true, true, true])
    const { records } = await q.list({ functionId: 'fa', offset: 0, limit: 10 })
    const messages = new Map(records.map((r) => [r.requestId, [r.status, r.errorMessage]]))
    expect(messages.get(e1.requestId)).toEqual(['FAIL', 'Error: a\uFFFDb'])
    expect(messages.get(e2.requestId)).toEqual(['FAIL', 'Error: c\uFFFDd'])
    expect(messages.get(e3.requestId)).toEqual(['WAIT', 'Error: e\uFFFDf'])
    const dead = await q.deadLetters('fa', 0, 10)
    expect(dead.entries.map((d) => d.record)).toEqual(['{"error":"c\\u0000d","raw":"\uFFFD"}'])
    expect((await q.list({ functionId: 'other', offset: 0, limit: 1 })).total).toBe(1)
    // The destination event: its trigger id stored in place, its headers as given (JSON-escaped).
    const [dest] = await q.lease({
      max: 1,
      nowMs: Date.now(),
      room: (id) => (id === 'dest' ? 1 : 0),
    })
    expect(dest).toMatchObject({
      requestId: destination.requestId,
      contextHeaders: { 'x-h': 'v\0' },
    })
    const destRecord = await q.list({ functionId: 'dest', offset: 0, limit: 1 })
    expect(destRecord.records[0]?.triggerId).toBe('t\uFFFD')
  })
})
