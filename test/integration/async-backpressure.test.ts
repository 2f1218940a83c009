/**
 * Backpressure of the async path: a backlog of async events uses at most the function's max
 * instances minus one, so a synchronous call still finds an instance instead of queueing behind
 * the backlog.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, waitFor, type TestStrato } from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

let strato: TestStrato

beforeAll(async () => {
  strato = await startTestStrato({ STRATO_ASYNC_POLL_MS: '20' })
})
afterAll(async () => {
  await strato.close()
})

const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:bp-slow:latest`

interface Info {
  instances: { idle: number; busy: number; starting: number }
  async: { inflight: number }
}

test('async backlog: at most max instances minus one run async, and a sync call is served at once', async () => {
  const c = strato.client
  await c.createFunction(
    inlineFunction(
      'bp-slow',
      'exports.handler = async (event) => { await new Promise((r) => setTimeout(r, 400)); return event }',
      { strategy_config: { concurrency: 3 } },
    ),
  )
  for (let i = 0; i < 12; i++) {
    const res = await c.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${urn}/invocations-async`,
      JSON.stringify({ i }),
    )
    expect(res.status).toBe(202)
  }
  // The async share of a function with 3 instances is 2.
  let maxAsync = 0
  let maxInstances = 0
  const watch = setInterval(() => {
    void fetch(`${strato.url}/strato/info`)
      .then((r) => r.json() as Promise<Info>)
      .then((info) => {
        maxAsync = Math.max(maxAsync, info.async.inflight)
        const i = info.instances
        maxInstances = Math.max(maxInstances, i.idle + i.busy + i.starting)
      })
      // A sample that misses (Strato closing at the end of the test) counts for nothing.
      .catch(() => undefined)
  }, 20)
  try {
    await waitFor(async () => {
      const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as Info
      return info.async.inflight === 2 && info.instances.busy === 2
    }, 10_000)
    // A sync call now gets the third instance: a cold start plus 400 ms, not the backlog's ~2.4 s.
    const t0 = Date.now()
    const res = await c.invoke(urn, '{"sync":true}')
    const took = Date.now() - t0
    expect(JSON.parse(res.result)).toEqual({ sync: true })
    expect(took).toBeLessThan(1_800)
    const active = await c.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${urn}/active-async-invocations?limit=100`,
    )
    expect((JSON.parse(active.body.toString()) as { count: number }).count).toBeGreaterThan(0)
    await waitFor(async () => {
      const r = await c.raw(
        'GET',
        `/v2/${PROJECT_ID}/fgs/functions/${urn}/async-invocations?status=SUCCESS`,
      )
      return (JSON.parse(r.body.toString()) as { count: number }).count === 12
    }, 20_000)
  } finally {
    clearInterval(watch)
  }
  expect(maxAsync).toBeLessThanOrEqual(2)
  expect(maxInstances).toBeLessThanOrEqual(3)
})

test('async backlog with concurrent_num: async takes all slots of one instance but one', async () => {
  const c = strato.client
  const multi = `urn:fss:local-1:${PROJECT_ID}:function:default:bp-multi:latest`
  await c.createFunction(
    inlineFunction(
      'bp-multi',
      'exports.handler = async (event) => { await new Promise((r) => setTimeout(r, 400)); return event }',
      { strategy_config: { concurrency: 1, concurrent_num: 4 } },
    ),
  )
  for (let i = 0; i < 8; i++) {
    const res = await c.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${multi}/invocations-async`,
      JSON.stringify({ i }),
    )
    expect(res.status).toBe(202)
  }
  let maxAsync = 0
  await waitFor(async () => {
    const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as Info
    maxAsync = Math.max(maxAsync, info.async.inflight)
    const r = await c.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${multi}/async-invocations?status=SUCCESS`,
    )
    return (JSON.parse(r.body.toString()) as { count: number }).count === 8
  }, 20_000)
  // One instance with 4 slots: async uses 3 of them at most, and did use more than one.
  expect(maxAsync).toBeLessThanOrEqual(3)
  expect(maxAsync).toBeGreaterThan(1)
})
