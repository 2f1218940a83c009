/**
 * The AsyncRecordRepository contract: what users read and cancel of the async queue. It sees every
 * event the backend's queue accepted and every settlement, at once.
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import type { LeasedEvent, NewAsyncEvent } from '../../src/core/index.js'
import { backendPerTest, type OpenBackend } from './store-harness.js'

function event(functionId: string, acceptedAtMs: number): NewAsyncEvent {
  return {
    requestId: randomUUID(),
    projectId: 'p1',
    functionId,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:latest`,
    qualifier: 'latest',
    payload: Buffer.from('{}'),
    acceptedAtMs,
    timeoutMs: 1_000,
  }
}

export function describeAsyncRecordRepositoryContract(
  name: string,
  openBackend: OpenBackend,
): void {
  describe(`AsyncRecordRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('list: newest first, paged, filtered by request id, status and time, counted', async () => {
      const { repos } = await open()
      const t0 = Date.now() - 10_000
      const events = [0, 1, 2, 3].map((i) => event('fa', t0 + i * 1_000))
      for (const e of events) {
        await repos.asyncQueue.enqueue(e)
      }
      await repos.asyncQueue.enqueue(event('fb', t0))
      const ids = events.map((e) => e.requestId)
      const all = await repos.asyncRecords.list({ functionId: 'fa', offset: 0, limit: 10 })
      expect(all.total).toBe(4)
      expect(all.records.map((r) => r.requestId)).toEqual([...ids].reverse())
      expect(all.records[0]).toMatchObject({
        status: 'WAIT',
        errorCode: 0,
        acceptedAtMs: t0 + 3_000,
        startedAtMs: undefined,
        endedAtMs: undefined,
        attempts: 0,
      })
      const page = await repos.asyncRecords.list({ functionId: 'fa', offset: 1, limit: 2 })
      expect(page).toMatchObject({ total: 4 })
      expect(page.records.map((r) => r.requestId)).toEqual([ids[2], ids[1]])
      const one = await repos.asyncRecords.list({
        functionId: 'fa',
        requestId: ids[1],
        offset: 0,
        limit: 10,
      })
      expect(one.records.map((r) => r.requestId)).toEqual([ids[1]])
      const window = await repos.asyncRecords.list({
        functionId: 'fa',
        fromMs: t0 + 1_000,
        toMs: t0 + 2_000,
        offset: 0,
        limit: 10,
      })
      expect(window.records.map((r) => r.requestId)).toEqual([ids[2], ids[1]])
      const running = await repos.asyncRecords.list({
        functionId: 'fa',
        statuses: ['RUNNING'],
        offset: 0,
        limit: 10,
      })
      expect(running).toEqual({ records: [], total: 0 })
    })

    test('records follow leases and settlements: started, attempts, ended, error', async () => {
      const { repos } = await open()
      const e = event('fa', Date.now())
      await repos.asyncQueue.enqueue(e)
      const [leased] = await repos.asyncQueue.lease({ max: 1, nowMs: Date.now(), room: () => 1 })
      const [running] = (await repos.asyncRecords.list({ functionId: 'fa', offset: 0, limit: 1 }))
        .records
      expect(running).toMatchObject({ status: 'RUNNING', attempts: 1 })
      expect(running?.startedAtMs).toBeGreaterThan(0)
      const endedAtMs = Date.now()
      await repos.asyncQueue.settle(leased as LeasedEvent, {
        kind: 'done',
        status: 'FAIL',
        errorCode: 4_002,
        errorMessage: 'boom',
        endedAtMs,
        enqueue: [],
        deadLetter: {
          projectId: 'p1',
          functionId: 'fa',
          requestId: e.requestId,
          createdAtMs: endedAtMs,
          record: JSON.stringify({ request_id: e.requestId }),
        },
      })
      const [failed] = (await repos.asyncRecords.list({ functionId: 'fa', offset: 0, limit: 1 }))
        .records
      expect(failed).toMatchObject({
        status: 'FAIL',
        errorCode: 4_002,
        errorMessage: 'boom',
        endedAtMs,
      })
      const letters = await repos.asyncRecords.deadLetters('fa', 0, 10)
      expect(letters.total).toBe(1)
      expect(letters.entries[0]).toMatchObject({
        functionId: 'fa',
        requestId: e.requestId,
        createdAtMs: endedAtMs,
      })
      expect(await repos.asyncRecords.deadLetters('fb', 0, 10)).toEqual({ entries: [], total: 0 })
    })

    test('cancel fails a waiting event (4208) and reports any other status untouched', async () => {
      const { repos } = await open()
      const waiting = event('fa', Date.now())
      const running = event('fa', Date.now())
      await repos.asyncQueue.enqueue(running)
      await repos.asyncQueue.lease({ max: 1, nowMs: Date.now(), room: () => 1 })
      await repos.asyncQueue.enqueue(waiting)
      expect(await repos.asyncRecords.cancel('fa', waiting.requestId, Date.now())).toBe('WAIT')
      expect(await repos.asyncRecords.cancel('fa', waiting.requestId, Date.now())).toBe('FAIL')
      expect(await repos.asyncRecords.cancel('fa', running.requestId, Date.now())).toBe('RUNNING')
      expect(await repos.asyncRecords.cancel('fb', waiting.requestId, Date.now())).toBeUndefined()
      const { records } = await repos.asyncRecords.list({
        functionId: 'fa',
        requestId: waiting.requestId,
        offset: 0,
        limit: 1,
      })
      expect(records[0]).toMatchObject({ status: 'FAIL', errorCode: 4208 })
      // A cancelled event is never leased.
      expect(await repos.asyncQueue.lease({ max: 10, nowMs: Date.now(), room: () => 10 })).toEqual(
        [],
      )
    })

    test('dead letters are paged newest first; a deleted function has no records left', async () => {
      const { repos } = await open()
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const e = event('fa', Date.now())
        ids.push(e.requestId)
        await repos.asyncQueue.enqueue(e)
        const [l] = await repos.asyncQueue.lease({ max: 1, nowMs: Date.now(), room: () => 1 })
        await repos.asyncQueue.settle(l as LeasedEvent, {
          kind: 'done',
          status: 'FAIL',
          errorCode: 1,
          errorMessage: '',
          endedAtMs: Date.now(),
          enqueue: [],
          deadLetter: {
            projectId: 'p1',
            functionId: 'fa',
            requestId: e.requestId,
            createdAtMs: Date.now(),
            record: '{}',
          },
        })
      }
      const page = await repos.asyncRecords.deadLetters('fa', 1, 1)
      expect(page.total).toBe(3)
      expect(page.entries.map((d) => d.requestId)).toEqual([ids[1]])
      await repos.asyncQueue.deleteFunction('fa')
      expect(await repos.asyncRecords.list({ functionId: 'fa', offset: 0, limit: 10 })).toEqual({
        records: [],
        total: 0,
      })
      expect((await repos.asyncRecords.deadLetters('fa', 0, 10)).total).toBe(0)
    })
  })
}
