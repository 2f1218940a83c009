/**
 * AsyncStatusLog over a real embedded store: which status changes reach a project's async-status
 * stream, in which order, and which never do.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { Limits, type AsyncSettlement, type NewAsyncEvent } from '../core/index.js'
import { openStore, type Store } from '../store/index.js'
import { AsyncStatusLog } from './async-status-log.js'

let dir: string
let store: Store
let queue: AsyncStatusLog

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-status-log-'))
  store = await openStore({
    dataDir: dir,
    quotas: Limits.DEFAULT_QUOTAS,
    onBackgroundError: (err) => {
      throw err
    },
    asyncQueue: { leaseGraceMs: 1_000, fsync: false },
  })
  await store.logSettings.setAsyncStatusLog('p1', true)
  queue = new AsyncStatusLog(store.asyncQueue, {
    enabled: (projectId) => store.logSettings.asyncStatusLogEnabled(projectId),
    log: store.logs,
  })
})
afterEach(async () => {
  await store.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

function event(requestId: string, projectId = 'p1'): NewAsyncEvent {
  return {
    requestId,
    projectId,
    functionId: `fn-${projectId}`,
    functionUrn: `urn:fss:r:${projectId}:function:default:f:latest`,
    qualifier: 'latest',
    payload: Buffer.from('{}'),
    acceptedAtMs: Date.now(),
    timeoutMs: 3_000,
  }
}

const success = (): AsyncSettlement => ({
  kind: 'done',
  status: 'SUCCESS',
  errorCode: 0,
  errorMessage: '',
  endedAtMs: Date.now(),
  enqueue: [],
  deadLetter: undefined,
})

async function stream(projectId = 'p1'): Promise<string[]> {
  const page = await store.logs.searchAsyncStatus({ projectId, order: 'asc', limit: 100 })
  return page.entries.map((e) => `${e.entry.requestId} ${e.entry.status}:${e.entry.attempts}`)
}

test('accept, run, retry and success are logged in order for a project whose switch is on, nothing for another', async () => {
  await queue.enqueue(event('a'))
  await queue.enqueue(event('b', 'p2'))
  const leased = await queue.lease({ max: 10, nowMs: Date.now(), room: () => 10 })
  const a = leased.find((e) => e.requestId === 'a')
  expect(a).toBeDefined()
  if (a === undefined) {
    return
  }
  const retry: AsyncSettlement = {
    kind: 'retry',
    notBeforeMs: 0,
    functionError: true,
    errorMessage: 'Error: boom',
  }
  expect(await queue.settle(a, retry)).toBe(true)
  const again = (await queue.lease({ max: 10, nowMs: Date.now(), room: () => 10 })).find(
    (e) => e.requestId === 'a',
  )
  expect(again?.attempt).toBe(2)
  if (again === undefined) {
    return
  }
  // A settlement under a lease that is no longer held changed nothing and logs nothing.
  expect(await queue.settle(a, success())).toBe(false)
  expect(await queue.settle(again, success())).toBe(true)
  expect(await stream()).toEqual([
    'a WAIT:0',
    'a RUNNING:1',
    'a WAIT:1',
    'a RUNNING:2',
    'a SUCCESS:2',
  ])
  const retried = (
    await store.logs.searchAsyncStatus({ projectId: 'p1', order: 'asc', limit: 100 })
  ).entries[2]?.entry.message
  expect(retried).toContain('function error')
  expect(retried).toContain('Error: boom')
  expect(await stream('p2')).toEqual([])
})

test('a lease that overtakes the enqueue’s answer still finds the WAIT entry before its RUNNING', async () => {
  // The dispatcher leases as soon as the queue says an event is ready: before enqueue resolves.
  const leasing: Array<Promise<unknown>> = []
  queue.onReady(() => {
    leasing.push(queue.lease({ max: 10, nowMs: Date.now(), room: () => 10 }))
  })
  await queue.enqueue(event('c'))
  await Promise.all(leasing)
  expect(await stream()).toEqual(['c WAIT:0', 'c RUNNING:1'])
})

test('turned off, the project logs nothing more', async () => {
  await queue.enqueue(event('d'))
  await store.logSettings.setAsyncStatusLog('p1', false)
  await queue.lease({ max: 10, nowMs: Date.now(), room: () => 10 })
  expect(await stream()).toEqual(['d WAIT:0'])
})
