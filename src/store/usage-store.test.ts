import { expect, test } from 'vitest'
import { useTempStores } from '../../test/helpers/temp-stores.js'

const temp = useTempStores('strato-usage-')
const HOUR = 3_600_000
const T0 = Date.UTC(2026, 11, 6, 10)

test('usage rows add up per project, function and hour, and read back in hour order', async () => {
  const { store } = await temp.open()
  const row = { projectId: 'p1', functionId: 'f1', functionName: 'default/a', hourStartMs: T0 }
  await store.usage.add([
    { ...row, requests: 2, gbSeconds: 0.25 },
    { ...row, hourStartMs: T0 + HOUR, requests: 1, gbSeconds: 1 },
    { ...row, functionId: 'f2', functionName: 'default/b', requests: 5, gbSeconds: 2 },
    { ...row, projectId: 'p2', requests: 9, gbSeconds: 9 },
  ])
  await store.usage.add([{ ...row, functionName: 'default/a2', requests: 3, gbSeconds: 0.5 }])
  const all = await store.usage.list({ projectId: 'p1', fromMs: T0, toMs: T0 + 2 * HOUR })
  expect(
    all.map((r) => [r.functionId, r.functionName, r.hourStartMs, r.requests, r.gbSeconds]),
  ).toEqual([
    ['f1', 'default/a2', T0, 5, 0.75],
    ['f2', 'default/b', T0, 5, 2],
    ['f1', 'default/a', T0 + HOUR, 1, 1],
  ])
  const one = await store.usage.list({
    projectId: 'p1',
    fromMs: T0 + HOUR,
    toMs: T0 + 2 * HOUR,
    functionId: 'f1',
  })
  expect(one.map((r) => r.requests)).toEqual([1])
})

test('the async backlog counts waiting events and knows the oldest', async () => {
  const { store } = await temp.open()
  expect(store.asyncBacklog.backlog()).toEqual({ waiting: 0, oldestAcceptedAtMs: undefined })
  for (const [i, acceptedAtMs] of [T0 + 5, T0, T0 + 9].entries()) {
    await store.asyncQueue.enqueue({
      requestId: `00000000-0000-4000-8000-00000000000${i}`,
      projectId: 'p1',
      functionId: 'f1',
      functionUrn: 'urn:fss:local-1:p1:function:default:a:latest',
      qualifier: 'latest',
      payload: Buffer.from('{}'),
      acceptedAtMs,
      timeoutMs: 3_000,
    })
  }
  expect(store.asyncBacklog.backlog()).toEqual({ waiting: 3, oldestAcceptedAtMs: T0 })
})
