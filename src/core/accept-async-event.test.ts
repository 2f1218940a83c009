import { expect, test } from 'vitest'
import { acceptAsyncEvent } from './accept-async-event.js'
import type { NewAsyncEvent } from './async-invocation.js'
import { StratoError } from './errors.js'

const TARGET = {
  projectId: 'p1',
  functionId: 'f1',
  functionUrn: 'urn:fss:local-1:p1:function:default:hello:!blue',
  qualifier: '!blue',
}

test('acceptAsyncEvent: stores the event for the target, stamped now, its lease sized by the timeout', async () => {
  const stored: NewAsyncEvent[] = []
  const before = Date.now()
  await acceptAsyncEvent({ enqueue: (e) => Promise.resolve(void stored.push(e)) }, TARGET, {
    requestId: 'r1',
    payload: Buffer.from('{}'),
    timeoutS: 3,
  })
  expect(stored).toHaveLength(1)
  const { acceptedAtMs, ...rest } = stored[0]!
  expect(rest).toEqual({ ...TARGET, requestId: 'r1', payload: Buffer.from('{}'), timeoutMs: 3000 })
  expect(acceptedAtMs).toBeGreaterThanOrEqual(before)
  expect(acceptedAtMs).toBeLessThanOrEqual(Date.now())
})

test('acceptAsyncEvent: a queue that cannot store the event is ASYNC_ENQUEUE_FAILED, keeping the cause', async () => {
  const disk = new Error('SQLITE_FULL')
  const err: unknown = await acceptAsyncEvent({ enqueue: () => Promise.reject(disk) }, TARGET, {
    requestId: 'r2',
    payload: Buffer.alloc(0),
    timeoutS: 1,
  }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(StratoError)
  expect((err as StratoError).code).toBe('ASYNC_ENQUEUE_FAILED')
  expect((err as StratoError).cause).toBe(disk)
})

test('acceptAsyncEvent: context headers go with the event; none given, the event has none', async () => {
  const stored: NewAsyncEvent[] = []
  const queue = { enqueue: (e: NewAsyncEvent) => Promise.resolve(void stored.push(e)) }
  const contextHeaders = { 'x-cff-workflow-id': 'wf-1', 'x-cff-workflow-run-id': 'run-1' }
  await acceptAsyncEvent(queue, TARGET, {
    requestId: 'r3',
    payload: Buffer.from('{}'),
    timeoutS: 1,
    contextHeaders,
  })
  await acceptAsyncEvent(queue, TARGET, {
    requestId: 'r4',
    payload: Buffer.from('{}'),
    timeoutS: 1,
  })
  expect(stored[0]?.contextHeaders).toEqual(contextHeaders)
  expect(stored[1]).not.toHaveProperty('contextHeaders')
})
