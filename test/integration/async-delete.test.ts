/**
 * Deleting a function, version or alias ends its async events: the waiting ones are discarded
 * (DISCARD, 404, reason recorded) and none that was already leased, waiting for a busy instance,
 * runs after the DELETE answered (issue 12, defect 4).
 *
 * The function has one instance, held by a slow synchronous call; the async events queue behind
 * it, one of them leased by the dispatcher and waiting in the pool. Whether an event ran is read
 * from the invocation logs: the pool writes one for every invocation that reaches an instance.
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

const HANDLER = `exports.handler = async (event, context) => {
  console.log('RAN ' + context.getRequestID())
  await new Promise((r) => setTimeout(r, event.ms ?? 0))
  return 'ok'
}`
/** Long enough for the deletes to happen while it runs, short enough for the 10 s queue wait. */
const SLOW_MS = 2_500

const urnOf = (name: string, qualifier = 'latest'): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:${qualifier}`

interface AsyncRecordView {
  request_id: string
  status: string
  error_code: number
  error_message: string
}

async function recordOf(urn: string, requestId: string): Promise<AsyncRecordView | undefined> {
  const page = (await strato.client.asyncInvocations(urn, { request_id: requestId })) as {
    invocations: AsyncRecordView[]
  }
  return page.invocations[0]
}

/** Occupies the function's only instance; `ended` resolves when the call ends. */
async function holdTheInstance(urn: string): Promise<{ ended: Promise<unknown> }> {
  const ended = strato.client.invoke(urn, JSON.stringify({ ms: SLOW_MS }))
  await waitFor(() => strato.running.pool.stats().busy === 1, 10_000)
  return { ended }
}

test('async delete: events of a deleted function, leased ones waiting for an instance included, never run', async () => {
  const c = strato.client
  const name = 'del-fn'
  const urn = urnOf(name)
  const created = await c.createFunction(
    inlineFunction(name, HANDLER, { strategy_config: { concurrency: 1 } }),
  )
  const functionId = created.func_id as string
  const busy = await holdTheInstance(urn)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    ids.push(await c.invokeAsync(urn, '{}'))
  }
  // One event is leased and waits in the pool for the busy instance; the others wait in the queue.
  await waitFor(() => strato.running.dispatcher.stats().inflight === 1, 5_000)

  await c.deleteFunction(urn)
  const deletedAt = Date.now()
  await busy.ended
  // The instance came free: an event still in line would have run on it by now.
  await new Promise((r) => setTimeout(r, 1_000))

  const logged = await strato.running.store.logs.list({ functionId, limit: 100 })
  const ranAfterDelete = logged.filter((l) => ids.includes(l.requestId))
  expect(
    ranAfterDelete.map((l) => `${l.requestId} ran ${l.startedAtMs - deletedAt} ms after the 204`),
  ).toEqual([])
  expect(strato.running.dispatcher.stats()).toEqual({ inflight: 0, settling: 0 })
})

test('async delete: an attempt whose instance is still starting when the function is deleted never runs', async () => {
  const c = strato.client
  const name = 'del-starting'
  const urn = urnOf(name)
  const created = await c.createFunction(
    inlineFunction(
      name,
      `exports.init = () => new Promise((r) => setTimeout(r, 1500))\n${HANDLER}`,
      { initializer_handler: 'index.init', initializer_timeout: 10 },
    ),
  )
  const functionId = created.func_id as string
  const id = await c.invokeAsync(urn, '{}')
  // Leased, and its instance is starting (the initializer takes 1.5 s).
  await waitFor(() => strato.running.pool.stats().starting === 1, 5_000)
  await c.deleteFunction(urn)
  await waitFor(() => strato.running.dispatcher.stats().inflight === 0, 10_000)
  await new Promise((r) => setTimeout(r, 500))
  const logged = await strato.running.store.logs.list({ functionId, limit: 100 })
  expect(logged.filter((l) => l.requestId === id)).toEqual([])
})

test('async delete: deleting a version or an alias discards its events (404, reason recorded, dead letter); others still run', async () => {
  const c = strato.client
  const name = 'del-qualifiers'
  const urn = urnOf(name)
  await c.createFunction(inlineFunction(name, HANDLER, { strategy_config: { concurrency: 1 } }))
  const publish = async (version: string): Promise<void> => {
    const res = await c.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${urn}/versions`,
      JSON.stringify({ version }),
    )
    expect(res.status).toBe(200)
  }
  await publish('v1')
  const alias = await c.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/${urn}/aliases`,
    JSON.stringify({ name: 'blue', version: 'v1' }),
  )
  expect(alias.status).toBe(200)
  await c.updateConfig(urn, {
    func_name: name,
    runtime: 'Node.js18.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 29,
    strategy_config: { concurrency: 1 },
  })
  await publish('v2')

  const busy = await holdTheInstance(urn)
  // The first event (for version v2) is leased and waits in the pool; the rest wait in the queue.
  const gone = [
    await c.invokeAsync(urnOf(name, 'v2'), '{}'),
    await c.invokeAsync(urnOf(name, '!blue'), '{}'),
    await c.invokeAsync(urnOf(name, 'v2'), '{}'),
    await c.invokeAsync(urnOf(name, '!blue'), '{}'),
  ]
  const kept = await c.invokeAsync(urn, '{}')
  await waitFor(() => strato.running.dispatcher.stats().inflight === 1, 5_000)

  const deleted = await c.raw('DELETE', `/v2/${PROJECT_ID}/fgs/functions/${urnOf(name, 'v2')}`)
  expect(deleted.status).toBe(204)
  const aliasDeleted = await c.raw('DELETE', `/v2/${PROJECT_ID}/fgs/functions/${urn}/aliases/blue`)
  expect(aliasDeleted.status).toBe(204)
  // Discarded while the slow call still runs, not when an instance comes free.
  await waitFor(
    async () => {
      for (const id of gone) {
        if ((await recordOf(urn, id))?.status !== 'DISCARD') {
          return false
        }
      }
      return true
    },
    1_000,
    20,
  )
  await busy.ended
  await waitFor(async () => (await recordOf(urn, kept))?.status === 'SUCCESS', 10_000)

  for (const id of gone) {
    const record = await recordOf(urn, id)
    expect(record).toMatchObject({ status: 'DISCARD', error_code: 404 })
    expect(record?.error_message).toMatch(/(version 'v2'|alias 'blue') was deleted/)
    const logs = (await c.logs(urn, { request_id: id })) as { logs: unknown[] }
    expect(logs.logs).toEqual([])
  }
  const dead = await c.raw('GET', `/v2/${PROJECT_ID}/fgs/functions/${urn}/async-dead-letters`)
  const letters = (
    JSON.parse(dead.body.toString()) as { dead_letters: Array<{ request_id: string }> }
  ).dead_letters
  expect(letters.map((l) => l.request_id).sort()).toEqual([...gone].sort())
})
