/**
 * The AsyncQueue contract: what every implementation (the embedded SQLite queue today, a JetStream
 * one for the cluster later) must do. An implementation's test calls `runAsyncQueueContract` with
 * a factory that opens the queue on fresh storage and can reopen it on the same storage.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import type {
  AsyncQueue,
  AsyncRecordRepository,
  LeasedEvent,
  NewAsyncEvent,
} from '../../src/core/index.js'

/**
 * The queue with the records of its events: its states are observed through them (a backend whose
 * queue and records are two objects pairs them with `withRecords`).
 */
export type QueueWithRecords = AsyncQueue & AsyncRecordRepository

export interface QueueHarness {
  readonly queue: QueueWithRecords
  /** Closes the queue and opens it again on the same storage (what a restart does). */
  reopen(): Promise<QueueWithRecords>
  close(): Promise<void>
}

/** One object serving a queue and the record repository of its events. */
export function withRecords(queue: AsyncQueue, records: AsyncRecordRepository): QueueWithRecords {
  return {
    enqueue: (e) => queue.enqueue(e),
    lease: (r) => queue.lease(r),
    settle: (e, s) => queue.settle(e, s),
    record: (e, ran, s) => queue.record(e, ran, s),
    recoverLeases: (o) => queue.recoverLeases(o),
    onReady: (l) => queue.onReady(l),
    discardDeleted: (t) => queue.discardDeleted(t),
    onDeleted: (l) => queue.onDeleted(l),
    leaseDeleted: (t, max, now) => queue.leaseDeleted(t, max, now),
    deleteFunction: (id) => queue.deleteFunction(id),
    prune: (before) => queue.prune(before),
    list: (q) => records.list(q),
    cancel: (f, r, now) => records.cancel(f, r, now),
    deadLetters: (f, offset, limit) => records.deadLetters(f, offset, limit),
  }
}

function event(functionId: string, extra: Partial<NewAsyncEvent> = {}): NewAsyncEvent {
  return {
    requestId: randomUUID(),
    projectId: 'p1',
    functionId,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:latest`,
    qualifier: 'latest',
    payload: Buffer.from(JSON.stringify({ f: functionId })),
    acceptedAtMs: Date.now(),
    timeoutMs: 1_000,
    ...extra,
  }
}

const always = (n: number) => (): number => n

function done(enqueue: NewAsyncEvent[] = []) {
  return {
    kind: 'done' as const,
    status: 'SUCCESS' as const,
    errorCode: 0,
    errorMessage: '',
    endedAtMs: Date.now(),
    enqueue,
    deadLetter: undefined,
  }
}

export function runAsyncQueueContract(name: string, open: () => Promise<QueueHarness>): void {
  describe(`AsyncQueue contract: ${name}`, () => {
    let h: QueueHarness | undefined
    const start = async (): Promise<QueueHarness> => {
      h = await open()
      return h
    }
    afterEach(async () => {
      await h?.close()
      h = undefined
    })

    test('an enqueued event is durable: it is leased after the queue is reopened', async () => {
      const harness = await start()
      const e = event('fa')
      await harness.queue.enqueue(e)
      const reopened = await harness.reopen()
      const leased = await reopened.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(leased.map((l) => l.requestId)).toEqual([e.requestId])
      expect(leased[0]).toMatchObject({ attempt: 1, functionErrors: 0, systemErrors: 0 })
      expect(leased[0]?.payload.toString()).toBe(e.payload.toString())
    })

    test("an event's context headers are handed back on every lease, across a reopen", async () => {
      const harness = await start()
      const contextHeaders = {
        'x-cff-workflow-id': 'wf-1',
        'x-cff-workflow-run-id': 'run-1',
        'x-cff-workflow-state-id': 'ask',
      }
      const withHeaders = event('fa', { contextHeaders, timeoutMs: 1 })
      const without = event('fa', { timeoutMs: 1 })
      await harness.queue.enqueue(withHeaders)
      await harness.queue.enqueue(without)
      const queue = await harness.reopen()
      const first = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      const byId = new Map(first.map((l) => [l.requestId, l]))
      expect(byId.get(withHeaders.requestId)?.contextHeaders).toEqual(contextHeaders)
      expect(byId.get(without.requestId)).not.toHaveProperty('contextHeaders')
      const leased = byId.get(withHeaders.requestId)
      if (leased === undefined) {
        throw new Error('not leased')
      }
      // A retry hands them back again.
      await queue.settle(leased, {
        kind: 'retry',
        notBeforeMs: 0,
        functionError: true,
        errorMessage: 'boom',
      })
      const second = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(second.map((l) => [l.requestId, l.attempt, l.contextHeaders])).toEqual([
        [withHeaders.requestId, 2, contextHeaders],
      ])
    })

    test('enqueuing a request id already there resolves and keeps the first event, once', async () => {
      const { queue } = await start()
      const first = event('fa', { contextHeaders: { 'x-cff-workflow-run-id': 'run-1' } })
      await queue.enqueue(first)
      await queue.enqueue({ ...first, payload: Buffer.from('{"second":true}'), contextHeaders: {} })
      const leased = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(leased.map((l) => l.requestId)).toEqual([first.requestId])
      expect(leased[0]?.payload.toString()).toBe(first.payload.toString())
      expect(leased[0]?.contextHeaders).toEqual(first.contextHeaders)
      // Even while it is leased (a flow re-dispatching its callback task after a restart).
      await queue.enqueue(first)
      const { total } = await queue.list({ functionId: 'fa', offset: 0, limit: 10 })
      expect(total).toBe(1)
      expect(await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })).toEqual([])
    })

    test('many concurrent enqueues all resolve and are all stored (group commit)', async () => {
      const { queue } = await start()
      const events = Array.from({ length: 1000 }, () => event('fa'))
      await Promise.all(events.map((e) => queue.enqueue(e)))
      const { total } = await queue.list({ functionId: 'fa', offset: 0, limit: 1 })
      expect(total).toBe(1000)
    })

    test('lease respects max and per-function room, and serves every function with room', async () => {
      const { queue } = await start()
      for (let i = 0; i < 50; i++) {
        await queue.enqueue(event('busy'))
      }
      await queue.enqueue(event('quiet'))
      const leased = await queue.lease({
        max: 10,
        nowMs: Date.now(),
        room: (id) => (id === 'busy' ? 5 : 3),
      })
      expect(leased.filter((l) => l.functionId === 'busy')).toHaveLength(5)
      expect(leased.filter((l) => l.functionId === 'quiet')).toHaveLength(1)
      const none = await queue.lease({ max: 10, nowMs: Date.now(), room: always(0) })
      expect(none).toEqual([])
    })

    test('a leased event is invisible to other leases until it is settled', async () => {
      const { queue } = await start()
      await queue.enqueue(event('fa'))
      const first = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(first).toHaveLength(1)
      expect(await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })).toEqual([])
      const { records } = await queue.list({ functionId: 'fa', offset: 0, limit: 10 })
      expect(records[0]?.status).toBe('RUNNING')
    })

    test('a retry returns the event to WAIT until not_before, counting the error kind', async () => {
      const { queue } = await start()
      await queue.enqueue(event('fa'))
      const [l1] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      const later = Date.now() + 60_000
      expect(
        await queue.settle(l1 as LeasedEvent, {
          kind: 'retry',
          notBeforeMs: later,
          functionError: true,
          errorMessage: 'boom',
        }),
      ).toBe(true)
      expect(await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })).toEqual([])
      const [l2] = await queue.lease({ max: 1, nowMs: later, room: always(1) })
      expect(l2).toMatchObject({ attempt: 2, functionErrors: 1, systemErrors: 0 })
    })

    test('settling is idempotent: a lost lease cannot settle, the terminal state is written once', async () => {
      const { queue } = await start()
      await queue.enqueue(event('fa'))
      const [stale] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      // The worker is presumed dead: its lease goes back to the queue as a system retry.
      expect(await queue.recoverLeases({ nowMs: Date.now(), all: true })).toHaveLength(1)
      const [fresh] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      expect(fresh).toMatchObject({ attempt: 2, systemErrors: 1 })
      expect(await queue.settle(stale as LeasedEvent, done())).toBe(false)
      expect(await queue.settle(fresh as LeasedEvent, done())).toBe(true)
      expect(await queue.settle(fresh as LeasedEvent, done())).toBe(false)
      const { records } = await queue.list({ functionId: 'fa', offset: 0, limit: 10 })
      expect(records.map((r) => r.status)).toEqual(['SUCCESS'])
    })

    test('only expired leases are recovered when not all are asked for', async () => {
      const { queue } = await start()
      await queue.enqueue(event('fa', { timeoutMs: 1_000 }))
      const now = Date.now()
      await queue.lease({ max: 1, nowMs: now, room: always(1) })
      expect(await queue.recoverLeases({ nowMs: now + 10, all: false })).toEqual([])
      expect(await queue.recoverLeases({ nowMs: now + 24 * 3_600_000, all: false })).toHaveLength(1)
    })

    test('recovered leases name the attempt that was cut short and when it was leased', async () => {
      const { queue } = await start()
      const e = event('fa', { qualifier: 'v1' })
      await queue.enqueue(e)
      const leasedAt = Date.now()
      await queue.lease({ max: 1, nowMs: leasedAt, room: always(1) })
      const [first] = await queue.recoverLeases({ nowMs: leasedAt + 5, all: true })
      expect(first).toMatchObject({
        requestId: e.requestId,
        projectId: 'p1',
        functionId: 'fa',
        qualifier: 'v1',
        attempt: 1,
      })
      expect(first?.leasedAtMs).toBe(leasedAt)
      await queue.lease({ max: 1, nowMs: leasedAt + 10, room: always(1) })
      const [second] = await queue.recoverLeases({ nowMs: leasedAt + 20, all: true })
      expect(second).toMatchObject({
        requestId: e.requestId,
        attempt: 2,
        leasedAtMs: leasedAt + 10,
      })
    })

    test('leaseDeleted takes the waiting events of one version or alias, due or not, counting no attempt', async () => {
      const { queue } = await start()
      const later = Date.now() + 60_000
      const v1 = [event('fa', { qualifier: 'v1' }), event('fa', { qualifier: 'v1' })]
      const others = [event('fa', { qualifier: '!blue' }), event('fb', { qualifier: 'v1' })]
      for (const e of [...v1, ...others]) {
        await queue.enqueue(e)
      }
      // One of v1's events waits for a retry a minute from now.
      const [l] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      expect(l?.requestId).toBe(v1[0]?.requestId)
      await queue.settle(l as LeasedEvent, {
        kind: 'retry',
        notBeforeMs: later,
        functionError: true,
        errorMessage: 'boom',
      })
      const taken = await queue.leaseDeleted({ functionId: 'fa', qualifier: 'v1' }, 10, Date.now())
      expect(taken.map((t) => t.requestId).sort()).toEqual(v1.map((e) => e.requestId).sort())
      // The event that ran once is on its second attempt's number, and none was counted.
      const retried = taken.find((t) => t.requestId === v1[0]?.requestId)
      expect(retried).toMatchObject({ attempt: 2, functionErrors: 1 })
      expect(await queue.settle(retried as LeasedEvent, done())).toBe(true)
      const { records } = await queue.list({
        functionId: 'fa',
        requestId: v1[0]?.requestId,
        offset: 0,
        limit: 1,
      })
      expect(records[0]).toMatchObject({ status: 'SUCCESS', attempts: 1 })
      const rest = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(rest.map((r) => r.requestId).sort()).toEqual(others.map((e) => e.requestId).sort())
    })

    test('discardDeleted and deleteFunction tell the onDeleted listeners, before the rows go', async () => {
      const { queue } = await start()
      await queue.enqueue(event('fa'))
      const told: string[] = []
      queue.onDeleted(async (target) => {
        // Synchronously, as a dispatcher stops its attempts: the rows are still there.
        const { total } = await queue.list({ functionId: target.functionId, offset: 0, limit: 1 })
        told.push(`${target.functionId}:${target.qualifier ?? '*'}:${total}`)
      })
      await queue.discardDeleted({ functionId: 'fa', qualifier: '!blue' })
      await queue.deleteFunction('fa')
      expect(told).toEqual(['fa:!blue:1', 'fa:*:1'])
      expect((await queue.list({ functionId: 'fa', offset: 0, limit: 1 })).total).toBe(0)
    })

    test('a terminal settlement commits its follow-up events and dead letter with it', async () => {
      const { queue } = await start()
      const e = event('fa')
      await queue.enqueue(e)
      const [l] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      const follow = event('target')
      expect(
        await queue.settle(l as LeasedEvent, {
          kind: 'done',
          status: 'FAIL',
          errorCode: 500,
          errorMessage: 'failed',
          endedAtMs: Date.now(),
          enqueue: [follow],
          deadLetter: {
            projectId: 'p1',
            functionId: 'fa',
            requestId: e.requestId,
            createdAtMs: Date.now(),
            record: '{"x":1}',
          },
        }),
      ).toBe(true)
      const next = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(next.map((n) => n.requestId)).toEqual([follow.requestId])
      const dlq = await queue.deadLetters('fa', 0, 10)
      expect(dlq.total).toBe(1)
      expect(dlq.entries[0]).toMatchObject({ requestId: e.requestId, record: '{"x":1}' })
    })

    test('record: an event its trigger ran itself is stored ended, with its trigger id, destination event and dead letter, and is never leased', async () => {
      const { queue } = await start()
      const e = event('fa', { triggerId: 'trig-1', acceptedAtMs: Date.now() - 500 })
      const follow = event('fdest')
      await queue.record(
        e,
        { attempts: 2, startedAtMs: e.acceptedAtMs },
        {
          kind: 'done',
          status: 'FAIL',
          errorCode: 500,
          errorMessage: 'Error: boom',
          endedAtMs: Date.now(),
          enqueue: [follow],
          deadLetter: {
            projectId: 'p1',
            functionId: 'fa',
            requestId: e.requestId,
            createdAtMs: Date.now(),
            record: '{"x":2}',
          },
        },
      )
      const { records } = await queue.list({ functionId: 'fa', offset: 0, limit: 10 })
      expect(records).toEqual([
        expect.objectContaining({
          requestId: e.requestId,
          status: 'FAIL',
          errorMessage: 'Error: boom',
          attempts: 2,
          triggerId: 'trig-1',
        }),
      ])
      const leased = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(leased.map((l) => l.requestId)).toEqual([follow.requestId])
      expect((await queue.deadLetters('fa', 0, 10)).entries[0]).toMatchObject({
        requestId: e.requestId,
        record: '{"x":2}',
      })
    })

    test('cancel ends a waiting event with FAIL 4208 and reports other states', async () => {
      const { queue } = await start()
      const waiting = event('fa')
      const running = event('fa', { acceptedAtMs: Date.now() - 1_000 })
      await queue.enqueue(running)
      const [l] = await queue.lease({ max: 1, nowMs: Date.now(), room: always(1) })
      expect(l?.requestId).toBe(running.requestId)
      await queue.enqueue(waiting)
      expect(await queue.cancel('fa', waiting.requestId, Date.now())).toBe('WAIT')
      expect(await queue.cancel('fa', running.requestId, Date.now())).toBe('RUNNING')
      expect(await queue.cancel('fa', randomUUID(), Date.now())).toBeUndefined()
      const { records } = await queue.list({
        functionId: 'fa',
        requestId: waiting.requestId,
        offset: 0,
        limit: 1,
      })
      expect(records[0]).toMatchObject({ status: 'FAIL', errorCode: 4208 })
      expect(await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })).toEqual([])
    })

    test('records list newest first with status and time filters and offset pagination', async () => {
      const { queue } = await start()
      const base = Date.now() - 10_000
      const ids: string[] = []
      for (let i = 0; i < 7; i++) {
        const e = event('fa', { acceptedAtMs: base + i })
        ids.push(e.requestId)
        await queue.enqueue(e)
      }
      const page1 = await queue.list({ functionId: 'fa', offset: 0, limit: 3 })
      expect(page1.total).toBe(7)
      expect(page1.records.map((r) => r.requestId)).toEqual(ids.slice(4).reverse())
      const page3 = await queue.list({ functionId: 'fa', offset: 6, limit: 3 })
      expect(page3.records.map((r) => r.requestId)).toEqual([ids[0]])
      const windowed = await queue.list({
        functionId: 'fa',
        fromMs: base + 2,
        toMs: base + 3,
        offset: 0,
        limit: 10,
      })
      expect(windowed.total).toBe(2)
      const running = await queue.list({
        functionId: 'fa',
        statuses: ['RUNNING'],
        offset: 0,
        limit: 10,
      })
      expect(running.total).toBe(0)
    })

    test('a lease reads only what it takes, however long the backlog (100k events)', async () => {
      const { queue } = await start()
      const now = Date.now()
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 10_000 }, (_, i) =>
            queue.enqueue(event('deep', { acceptedAtMs: now - batch * 10_000 - i })),
          ),
        )
      }
      const heapBefore = process.memoryUsage().heapUsed
      await queue.enqueue(event('other'))
      const t0 = performance.now()
      // 'deep' has no room: its backlog must not slow down finding 'other'.
      const leased = await queue.lease({
        max: 10,
        nowMs: Date.now(),
        room: (id) => (id === 'deep' ? 0 : 10),
      })
      const t1 = performance.now()
      expect(leased.map((l) => l.functionId)).toEqual(['other'])
      const some = await queue.lease({ max: 10, nowMs: Date.now(), room: always(10) })
      expect(some).toHaveLength(10)
      expect(t1 - t0).toBeLessThan(50)
      // Leasing from the backlog loads the leased events, not the backlog.
      for (let i = 0; i < 20; i++) {
        await queue.lease({ max: 50, nowMs: Date.now(), room: always(50) })
      }
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024)
    }, 60_000)
  })
}
