/**
 * The audit trail (CTS): every management call a test makes is a trace of
 * `GET /v3/{project}/traces` with its trace name, resource and result, a refused one with its FSS
 * code; filters and paging as CTS has them; invocations and reads are not traces; no secret or
 * code reaches a record; a CTS-triggered function receives `deleteFunction` events (§6.6).
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import SQLite from 'better-sqlite3'
import { expect, onTestFinished, test } from 'vitest'
import { inlineFunction } from '../helpers/code.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { PROJECT_ID, startTestStrato, tmpDir, waitFor } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato({ STRATO_ASYNC_POLL_MS: '20' })
const { client } = strato

const ECHO = `exports.handler = async (event) => ({ ok: true })`
// Prints the event it got: the log is the one channel out of the sandbox.
const WATCHER = `exports.handler = async (event) => {
  console.log('EVENT ' + JSON.stringify(event))
  return 'ok'
}`

interface Trace {
  trace_id: string
  trace_name: string
  trace_rating: string
  trace_type: string
  service_type: string
  resource_type: string
  resource_name: string
  resource_id: string
  source_ip: string
  user: { id: string; name: string; domain: { id: string } }
  time: number
  code: string
  message?: string
  request_id: string
}

interface TracePage {
  traces: Trace[]
  meta_data: { count: number; marker?: string }
}

async function traces(query: Record<string, string> = {}): Promise<TracePage> {
  return (await client.listTraces({ limit: '200', ...query })) as unknown as TracePage
}

/** The traces of one resource name, oldest first. */
async function tracesOf(name: string): Promise<Trace[]> {
  return (await traces({ resource_name: name })).traces.reverse()
}

test('every management call is a trace with its trace name, resource and result; a refused one has its FSS code', async () => {
  const before = Date.now()
  const name = `audit-${randomUUID().slice(0, 8)}`
  const created = await client.createFunction(inlineFunction(name, ECHO))
  const urn = String(created.func_urn)
  await client.updateConfig(urn, {
    handler: 'index.handler',
    memory_size: 256,
    runtime: 'Node.js18.15',
    timeout: 30,
  })
  await client.invoke(urn, '{}')
  await client.showConfig(urn)
  const refused = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions`,
    JSON.stringify(inlineFunction(name, ECHO)),
  )
  expect(refused.status).toBe(409)
  const refusedCode = (JSON.parse(refused.body.toString()) as { error_code: string }).error_code
  await client.deleteFunction(urn)
  const missing = await client.raw('DELETE', `/v2/${PROJECT_ID}/fgs/functions/${urn}`)
  expect(missing.status).toBe(404)

  const mine = await tracesOf(name)
  expect(mine.map((t) => [t.trace_name, t.code])).toEqual([
    ['createFunction', '200'],
    ['updateFunctionConfig', '200'],
    ['createFunction', '409'],
    ['deleteFunction', '204'],
    ['deleteFunction', '404'],
  ])
  const [create, , conflict, del, notFound] = mine as [Trace, Trace, Trace, Trace, Trace]
  expect(create).toMatchObject({
    trace_rating: 'normal',
    trace_type: 'ApiCall',
    service_type: 'FunctionGraph',
    resource_type: 'function',
    resource_name: name,
    resource_id: urn,
    source_ip: expect.stringMatching(/127\.0\.0\.1$/),
    user: { id: 'test-ak', domain: { id: PROJECT_ID } },
  })
  expect(create.message).toBeUndefined()
  expect(create.time).toBeGreaterThanOrEqual(before)
  expect(create.trace_id).toMatch(/^[0-9a-f-]{36}$/)
  expect(conflict).toMatchObject({ trace_rating: 'warning', message: refusedCode })
  expect(refusedCode).toMatch(/^FSS\./)
  expect(del).toMatchObject({ resource_id: urn, trace_rating: 'normal' })
  expect(notFound.message).toMatch(/^FSS\./)
}, 60_000)

test('versions, aliases, triggers, async config, tags and test events are traced; reads and invocations are not', async () => {
  const name = `audit-all-${randomUUID().slice(0, 8)}`
  const urn = String((await client.createFunction(inlineFunction(name, ECHO))).func_urn)
  await client.publishVersion(urn, { version: 'v1' })
  await client.createAlias(urn, { name: 'prod', version: 'v1' })
  const trigger = await client.createTrigger(urn, {
    trigger_type_code: 'TIMER',
    trigger_status: 'DISABLED',
    event_data: { name: 'audit-timer', schedule: '1h', schedule_type: 'Rate' },
  })
  await client.putAsyncConfig(urn, { max_async_retry_attempts: 1 })
  const tagged = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/functions/${urn}/tags/create`,
    JSON.stringify({ tags: [{ key: 'team', value: 'audit' }] }),
  )
  expect(tagged.status).toBe(204)
  const ev = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/${urn}/events`,
    JSON.stringify({ name: 'audit-event', content: Buffer.from('{"a":1}').toString('base64') }),
  )
  expect(ev.status).toBe(200)
  for (let i = 0; i < 5; i++) {
    await client.invoke(urn, '{}')
  }
  await client.listVersions(urn)
  await client.listTriggers(urn)
  await client.deleteTrigger(urn, 'TIMER', String(trigger.trigger_id))

  const names = (await tracesOf(name)).map((t) => t.trace_name)
  expect(names).toEqual([
    'createFunction',
    'createFunctionVersion',
    'updateFunctionAsyncInvokeConfig',
    'createTags',
  ])
  const published = (await traces({ trace_name: 'createFunctionVersion', resource_name: name }))
    .traces
  expect(published.map((t) => [t.resource_type, t.resource_id])).toEqual([
    ['version', urn.replace(/:latest$/, ':v1')],
  ])
  const byFunction = (await traces({ resource_type: 'alias' })).traces.filter((t) =>
    t.resource_id.includes(`:${name}:`),
  )
  expect(byFunction.map((t) => [t.trace_name, t.resource_name])).toEqual([
    ['createVersionAlias', 'prod'],
  ])
  const triggers = (await traces({ resource_type: 'trigger' })).traces.filter(
    (t) => t.resource_id === trigger.trigger_id,
  )
  expect(triggers.map((t) => [t.trace_name, t.resource_name])).toEqual([
    ['deleteFunctionTrigger', 'TIMER'],
    ['createFunctionTrigger', 'TIMER'],
  ])
  const events = (await traces({ trace_name: 'createEvent', resource_name: 'audit-event' })).traces
  expect(events).toHaveLength(1)
  const all = (await traces()).traces
  expect(all.some((t) => /^(invokeFunction|asyncInvokeFunction)$/.test(t.trace_name))).toBe(false)
  expect(all.some((t) => /^(list|show|get)/.test(t.trace_name))).toBe(false)
  await client.deleteFunction(urn)
}, 60_000)

test('filters, time window and next/marker paging as CTS has them; another project is refused', async () => {
  const name = `audit-page-${randomUUID().slice(0, 8)}`
  const urn = String((await client.createFunction(inlineFunction(name, ECHO))).func_urn)
  for (let i = 0; i < 6; i++) {
    await client.updateConfig(urn, {
      handler: 'index.handler',
      memory_size: 128,
      runtime: 'Node.js18.15',
      timeout: 10 + i,
    })
  }
  await new Promise((r) => setTimeout(r, 5))
  const afterUpdates = Date.now()
  await client.deleteFunction(urn)

  const seen: string[] = []
  let next: string | undefined
  let pages = 0
  do {
    const page = await traces({
      resource_name: name,
      trace_name: 'updateFunctionConfig',
      limit: '4',
      ...(next === undefined ? {} : { next }),
    })
    pages++
    expect(page.meta_data.count).toBe(page.traces.length)
    seen.push(...page.traces.map((t) => t.trace_id))
    next = page.meta_data.marker
  } while (next !== undefined)
  expect(pages).toBe(2)
  expect(seen).toHaveLength(6)
  expect(new Set(seen).size).toBe(6)

  const window = await traces({
    resource_name: name,
    from: String(afterUpdates),
    to: String(Date.now()),
  })
  expect(window.traces.map((t) => t.trace_name)).toEqual(['deleteFunction'])
  expect((await traces({ resource_name: name, trace_rating: 'warning' })).traces).toEqual([])
  expect((await traces({ resource_name: name, service_type: 'ECS' })).traces).toEqual([])
  expect((await traces({ resource_name: name, trace_type: 'data' })).traces).toEqual([])
  const old = await traces({ resource_name: name, from: '1000', to: '2000' })
  expect(old.traces).toEqual([])

  // Keys and tenants have no API: the first start recorded the root tenant it created.
  const tenants = (await traces({ resource_type: 'tenant', from: '0' })).traces
  expect(tenants).toMatchObject([
    {
      trace_name: 'createTenant',
      trace_type: 'SystemAction',
      resource_id: PROJECT_ID,
      user: { id: 'test-ak' },
    },
  ])
  const bad = await client.raw('GET', `/v3/${PROJECT_ID}/traces?limit=500`)
  expect(bad.status).toBe(400)
  const badMarker = await client.raw('GET', `/v3/${PROJECT_ID}/traces?next=nope`)
  expect(badMarker.status).toBe(400)
  const other = await client.raw('GET', `/v3/ffffffffffffffffffffffffffffffff/traces`)
  expect(other.status).toBe(403)
}, 60_000)

test('no record holds a secret or code: encrypted variables, broker passwords, code', async () => {
  const secret = `env-secret-${randomUUID()}`
  const brokerPassword = `broker-pw-${randomUUID()}`
  const codeMarker = `code-marker-${randomUUID()}`
  const name = `audit-secret-${randomUUID().slice(0, 8)}`
  const urn = String(
    (
      await client.createFunction(
        inlineFunction(name, `${ECHO} // ${codeMarker}`, {
          encrypted_user_data: JSON.stringify({ TOKEN: secret }),
        }),
      )
    ).func_urn,
  )
  await client.updateConfig(urn, {
    handler: 'index.handler',
    memory_size: 128,
    runtime: 'Node.js18.15',
    timeout: 30,
    encrypted_user_data: JSON.stringify({ TOKEN: `${secret}-2` }),
  })
  await client.updateCode(urn, {
    code_type: 'inline',
    func_code: { file: Buffer.from(`${ECHO} // ${codeMarker}-2`).toString('base64') },
  })
  const mq = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/triggers/${urn}`,
    JSON.stringify({
      trigger_type_code: 'RABBITMQ',
      trigger_status: 'DISABLED',
      event_data: {
        connect_address: '127.0.0.1:5672',
        vhost: '/',
        exchange_name: 'audit-none',
        access_user: 'nobody',
        access_password: brokerPassword,
        batch_size: 10,
      },
    }),
  )
  expect(mq.status, mq.body.toString()).toBe(201)
  await client.deleteFunction(urn)
  expect((await tracesOf(name)).length).toBeGreaterThanOrEqual(4)

  const answer = JSON.stringify(await traces({ from: '0' }))
  const db = new SQLite(path.join(strato.dataDir, 'strato.db'), { readonly: true })
  onTestFinished(() => {
    db.close()
  })
  const rows = JSON.stringify(db.prepare('select * from audit_traces').all())
  for (const text of [answer, rows]) {
    for (const s of [
      secret,
      brokerPassword,
      codeMarker,
      Buffer.from(codeMarker).toString('base64').slice(0, 16),
    ]) {
      expect(text).not.toContain(s)
    }
  }
}, 60_000)

test('a CTS-triggered function receives deleteFunction events (§6.6), not its own, not other operations', async () => {
  const watcher = `cts-watcher-${randomUUID().slice(0, 8)}`
  const watcherUrn = String(
    (await client.createFunction(inlineFunction(watcher, WATCHER))).func_urn,
  )
  const refusedTrigger = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/triggers/${watcherUrn}`,
    JSON.stringify({
      trigger_type_code: 'CTS',
      trigger_status: 'ACTIVE',
      event_data: { name: 'bad', operations: ['ECS:server:deleteServer'] },
    }),
  )
  expect(refusedTrigger.status).toBe(400)
  await client.createTrigger(watcherUrn, {
    trigger_type_code: 'CTS',
    trigger_status: 'ACTIVE',
    event_data: {
      name: 'watch-deletes',
      operations: [
        'FunctionGraph:function:deleteFunction',
        'FunctionGraph:function:updateFunctionConfig',
      ],
    },
  })
  const victims = [
    `cts-victim-a-${randomUUID().slice(0, 6)}`,
    `cts-victim-b-${randomUUID().slice(0, 6)}`,
  ]
  const victimUrns: string[] = []
  for (const v of victims) {
    victimUrns.push(String((await client.createFunction(inlineFunction(v, ECHO))).func_urn))
  }
  // Its own change is not delivered to it (a function changing itself would loop).
  await client.updateConfig(watcherUrn, {
    handler: 'index.handler',
    memory_size: 128,
    runtime: 'Node.js18.15',
    timeout: 29,
  })
  for (const u of victimUrns) {
    await client.deleteFunction(u)
  }

  const delivered = async (): Promise<Array<{ cts: Record<string, unknown> }>> => {
    const { logs } = (await client.logs(watcherUrn, { limit: 100 })) as {
      logs: Array<{ log: string }>
    }
    return logs.flatMap((entry) => {
      const line = entry.log.split('\n').find((l) => l.includes('EVENT {'))
      return line === undefined
        ? []
        : [JSON.parse(line.slice(line.indexOf('{'))) as { cts: Record<string, unknown> }]
    })
  }
  await waitFor(async () => (await delivered()).length >= 2, 20_000, 100)
  // A while longer: nothing else may arrive.
  await new Promise((r) => setTimeout(r, 1_500))
  const events = await delivered()
  expect(events.map((e) => [e.cts.trace_name, e.cts.resource_name]).sort()).toEqual(
    victims.map((v) => ['deleteFunction', v]).sort(),
  )
  const trail = (await traces({ trace_name: 'deleteFunction' })).traces
  for (const e of events) {
    expect(Object.keys(e)).toEqual(['cts'])
    const trace = trail.find((t) => t.trace_id === e.cts.trace_id)
    expect(trace).toBeDefined()
    expect(e.cts).toMatchObject({
      time: trace?.time,
      user: { name: 'test-ak', id: 'test-ak', domain: { id: PROJECT_ID, name: PROJECT_ID } },
      request: {},
      response: {},
      code: 204,
      service_type: 'FunctionGraph',
      resource_type: 'function',
      resource_id: expect.stringContaining(':function:default:cts-victim-'),
      trace_type: 'ApiCall',
      record_time: trace?.time,
      trace_status: 'normal',
    })
  }
  await client.deleteFunction(watcherUrn)
}, 60_000)

test('through the official SDK: a CTS trigger is created with withOperations, and the SDK’s own calls are traced by its method names', async () => {
  const sdk = sdkClient(strato.url)
  const watcher = `cts-sdk-${randomUUID().slice(0, 8)}`
  const watcherUrn = String(
    (await client.createFunction(inlineFunction(watcher, WATCHER))).func_urn,
  )
  const created = await sdk.createFunctionTrigger(
    new fg.CreateFunctionTriggerRequest().withFunctionUrn(watcherUrn).withBody(
      new fg.CreateFunctionTriggerRequestBody()
        .withTriggerTypeCode('CTS')
        .withTriggerStatus('ACTIVE')
        .withEventData(
          new fg.TriggerEventDataRequestBody()
            .withName('sdk-watch')
            .withOperations(['FunctionGraph:function:updateFunctionMaxInstanceConfig']),
        ),
    ),
  )
  expect(created.trigger_type_code ?? created.triggerTypeCode).toBe('CTS')
  const victim = `cts-sdk-victim-${randomUUID().slice(0, 6)}`
  const victimUrn = String((await client.createFunction(inlineFunction(victim, ECHO))).func_urn)
  await sdk.updateFunctionMaxInstanceConfig(
    new fg.UpdateFunctionMaxInstanceConfigRequest()
      .withFunctionUrn(victimUrn)
      .withBody(new fg.UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(5)),
  )
  const trace = (
    await traces({ resource_name: victim, trace_name: 'updateFunctionMaxInstanceConfig' })
  ).traces
  expect(trace).toHaveLength(1)
  await waitFor(
    async () => {
      const { logs } = (await client.logs(watcherUrn, { limit: 20 })) as {
        logs: Array<{ log: string }>
      }
      return logs.some((l) => l.log.includes(trace[0]?.trace_id ?? 'none'))
    },
    20_000,
    100,
  )
  const triggerTraces = (await traces({ trace_name: 'createFunctionTrigger' })).traces.filter(
    (t) => t.resource_id === (created.trigger_id ?? created.triggerId),
  )
  expect(triggerTraces.map((t) => t.resource_name)).toEqual(['CTS'])
  await client.deleteFunction(victimUrn)
  await client.deleteFunction(watcherUrn)
}, 60_000)

test('across a restart: a record made just before the stop is kept and delivered once, none twice', async () => {
  const dataDir = tmpDir('strato-audit-restart-')
  onTestFinished(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const env = { STRATO_ASYNC_POLL_MS: '20' }
  let s = await startTestStrato(env, dataDir)
  try {
    const c = s.client
    const watcherUrn = String(
      (await c.createFunction(inlineFunction('cts-restart-watcher', WATCHER))).func_urn,
    )
    await c.createTrigger(watcherUrn, {
      trigger_type_code: 'CTS',
      trigger_status: 'ACTIVE',
      event_data: { name: 'restart', operations: ['FunctionGraph:function:deleteFunction'] },
    })
    const victims = ['cts-restart-a', 'cts-restart-b']
    const urns: string[] = []
    for (const v of victims) {
      urns.push(String((await c.createFunction(inlineFunction(v, ECHO))).func_urn))
    }
    const deliveredNames = async (): Promise<string[]> => {
      const { logs } = (await s.client.logs(watcherUrn, { limit: 100 })) as {
        logs: Array<{ log: string }>
      }
      return logs.flatMap((entry) => {
        const line = entry.log.split('\n').find((l) => l.includes('EVENT {'))
        return line === undefined
          ? []
          : [
              String(
                (JSON.parse(line.slice(line.indexOf('{'))) as { cts: Record<string, unknown> }).cts
                  .resource_name,
              ),
            ]
      })
    }
    await c.deleteFunction(urns[0]!)
    await waitFor(async () => (await deliveredNames()).length === 1, 20_000, 50)
    // Deleted, then stopped at once: the record is written at close, delivered after the restart.
    await c.deleteFunction(urns[1]!)
    await s.close()
    s = await startTestStrato(env, dataDir)
    await waitFor(async () => (await deliveredNames()).length >= 2, 20_000, 50)
    await new Promise((r) => setTimeout(r, 1_000))
    expect((await deliveredNames()).sort()).toEqual(victims)
  } finally {
    await s.close()
  }
}, 90_000)
