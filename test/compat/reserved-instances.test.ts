/**
 * Reserved instances and dynamic memory through the official SDK (issue 16, items 5 and 6):
 * reserved instances are started before any invocation, outlive the idle TTL, serve the first
 * invocations after an idle period without a cold start, come back when killed, follow their
 * scheduled policy, count against 90% of the account concurrency, and come back after a restart;
 * `X-Cff-Instance-Memory` picks the size of the instance that serves a request.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  PROJECT_ID,
  sandboxProcesses,
  startTestStrato,
  waitFor,
  type TestStrato,
} from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

const IDLE_TTL_MS = 1_000

// Each instance names itself once, when its module loads: the same id means the same instance,
// and `loadedAt` says when its cold start happened.
const IDENTIFYING = `const id = require('crypto').randomUUID()
const loadedAt = Date.now()
exports.handler = async (event, context) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs))
  return { id, loadedAt, env: process.env.RUNTIME_MEMORY, memory: context.getMemorySize() }
}`

interface Answer {
  readonly id: string
  readonly loadedAt: number
  readonly env: string
  // getMemorySize() is a string in Node.js, as FunctionGraph's RUNTIME_MEMORY
  readonly memory: string
}

const urnOf = (name: string, qualifier = 'latest'): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:${qualifier}`

let strato: TestStrato
let client: any

beforeAll(async () => {
  strato = await startTestStrato({
    STRATO_IDLE_TTL_MS: String(IDLE_TTL_MS),
    // No pre-started stem cells: every sandbox process is an instance of a test function.
    STRATO_STEM_CELLS: '0',
    // Reserved at most 9 (90% of 10).
    STRATO_ACCOUNT_CONCURRENCY: '10',
  })
  client = sdkClient(strato.url)
}, 60_000)
afterAll(async () => {
  await strato?.close()
})

async function invoke(name: string, event: object = {}, memory?: string): Promise<Answer> {
  let request = new fg.InvokeFunctionRequest()
    .withFunctionUrn(urnOf(name))
    .withXCFFRequestVersion('v1')
    .withBody(event)
  if (memory !== undefined) {
    request = request.withXCffInstanceMemory(memory)
  }
  const r = await client.invokeFunction(request)
  expect(r.status).toBe(200)
  return JSON.parse(r.result as string) as Answer
}

function reserve(
  name: string,
  count: number,
  cron?: InstanceType<typeof fg.CronConfig>,
): Promise<any> {
  let body = new fg.UpdateFunctionReservedInstancesCountRequestBody()
    .withCount(count)
    .withIdleMode(false)
  if (cron !== undefined) {
    body = body.withTacticsConfig(new fg.TacticsConfig().withCronConfigs([cron]))
  }
  return client.updateFunctionReservedInstancesCount(
    new fg.UpdateFunctionReservedInstancesCountRequest()
      .withFunctionUrn(urnOf(name))
      .withBody(body),
  )
}

async function functionId(name: string): Promise<string> {
  const fn = await strato.client.showConfig(name)
  return String(fn.func_id)
}

async function reservedOf(name: string): Promise<number> {
  return strato.running.pool.instanceCounts().get(await functionId(name))?.reserved ?? 0
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('reserved instances', () => {
  test('two reserved instances start unasked, outlive the idle TTL, serve the first two concurrent invocations without a cold start, and come back when killed', async () => {
    await strato.client.createFunction(inlineFunction('ri-warm', IDENTIFYING))
    const set = await reserve('ri-warm', 2)
    expect(set).toMatchObject({ count: 2, idle_mode: false })
    // Started before any invocation.
    await waitFor(async () => (await reservedOf('ri-warm')) === 2, 30_000)
    const idleFrom = Date.now()
    // Several idle TTLs and reaper passes go by.
    await sleep(IDLE_TTL_MS * 3)
    expect(await reservedOf('ri-warm')).toBe(2)
    const before = strato.running.pool.stats()
    const [a, b] = await Promise.all([
      invoke('ri-warm', { sleepMs: 300 }),
      invoke('ri-warm', { sleepMs: 300 }),
    ])
    // Two different instances, both loaded before the idle period: no cold start.
    expect(a?.id).not.toBe(b?.id)
    expect(a?.loadedAt).toBeLessThan(idleFrom)
    expect(b?.loadedAt).toBeLessThan(idleFrom)
    expect(strato.running.pool.stats().idle + strato.running.pool.stats().busy).toBe(
      before.idle + before.busy,
    )

    // Killed from outside (each instance's process group): replaced without being asked.
    const killedAt = Date.now()
    const pids = sandboxProcesses(strato.dataDir)
    expect(pids.length).toBeGreaterThan(0)
    for (const pid of pids) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          // not a group leader, or already gone with its group
        }
      }
    }
    const alive = (pid: number): boolean => sandboxProcesses(strato.dataDir).includes(pid)
    await waitFor(
      async () =>
        !pids.some(alive) &&
        sandboxProcesses(strato.dataDir).length >= pids.length &&
        (await reservedOf('ri-warm')) === 2 &&
        strato.running.pool.stats().starting === 0,
      30_000,
    )
    const callAt = Date.now()
    const [c, d] = await Promise.all([
      invoke('ri-warm', { sleepMs: 300 }),
      invoke('ri-warm', { sleepMs: 300 }),
    ])
    expect(new Set([c?.id, d?.id, a?.id, b?.id]).size).toBe(4)
    expect(c?.loadedAt).toBeGreaterThanOrEqual(killedAt)
    expect(d?.loadedAt).toBeGreaterThanOrEqual(killedAt)
    // Started by the keeper before these calls, not by them.
    expect(Math.max(c?.loadedAt ?? 0, d?.loadedAt ?? 0)).toBeLessThan(callAt)

    // Listed with FunctionGraph's shapes, and reported per minute apart from all instances.
    const listed = await client.listFunctionReservedInstances(
      new fg.ListFunctionReservedInstancesRequest().withUrn(urnOf('ri-warm')),
    )
    expect(listed.reservedinstances).toEqual([{ func_urn: urnOf('ri-warm'), count: 2 }])
    expect(listed.count).toBe(1)
    const configs = await client.listReservedInstanceConfigs(
      new fg.ListReservedInstanceConfigsRequest().withFunctionUrn(urnOf('ri-warm')),
    )
    expect(configs.reserved_instances).toEqual([
      expect.objectContaining({
        function_urn: urnOf('ri-warm'),
        qualifier_type: 'version',
        qualifier_name: 'latest',
        min_count: 2,
        idle_mode: false,
      }),
    ])
    type Series = { timestamp: number; value: number }[]
    let metrics: { reservedInstanceNum: Series; instanceNum: Series } | undefined
    // A minute begun while the killed instances were replaced holds 1 until the keeper's next
    // sample (each minute reports the most seen in it): wait for that sample.
    await waitFor(async () => {
      metrics = (await client.showFuncReservedInstanceMetrics(
        new fg.ShowFuncReservedInstanceMetricsRequest().withFuncUrn(urnOf('ri-warm')),
      )) as { reservedInstanceNum: Series; instanceNum: Series }
      return metrics.reservedInstanceNum.at(-1)?.value === 2
    }, 10_000)
    expect(metrics?.reservedInstanceNum).toHaveLength(60)
    expect(metrics?.reservedInstanceNum.at(-1)?.value).toBe(2)
    expect((metrics?.reservedInstanceNum.at(-1)?.timestamp ?? 1) % 60_000).toBe(0)
    expect(metrics?.instanceNum.at(-1)?.value).toBeGreaterThanOrEqual(2)

    // Count 0: the reservation goes; its instances are on-demand again and the idle TTL takes them.
    await reserve('ri-warm', 0)
    await waitFor(async () => (await reservedOf('ri-warm')) === 0, 5_000)
    const id = await functionId('ri-warm')
    await waitFor(() => strato.running.pool.instanceCounts().get(id) === undefined, 10_000)
  }, 120_000)

  test('the project may reserve 90% of the account concurrency: past it, FSS.0403', async () => {
    await strato.client.createFunction(
      inlineFunction('ri-quota-a', 'exports.handler = async () => 1'),
    )
    await strato.client.createFunction(
      inlineFunction('ri-quota-b', 'exports.handler = async () => 1'),
    )
    await reserve('ri-quota-a', 1)
    // A cron policy counts with its own count: 1 + max(2, 9) = 10 > 9.
    const err = await sdkError(
      reserve(
        'ri-quota-b',
        2,
        new fg.CronConfig()
          .withName('peak')
          .withCron('0 0 8 * * ?')
          .withCount(9)
          .withStartTime(0)
          .withExpiredTime(0),
      ),
    )
    expect(err.httpStatusCode).toBe(403)
    expect(err.errorCode).toBe('FSS.0403')
    expect(err.errorMsg).toContain('at most 9')
    // 1 + 8 fits exactly; nothing was stored by the refusal.
    expect(await reserve('ri-quota-b', 8)).toMatchObject({ count: 8 })
    await reserve('ri-quota-b', 0)
    await reserve('ri-quota-a', 0)
    await waitFor(async () => (await reservedOf('ri-quota-b')) === 0, 5_000)
  }, 60_000)

  test('a scheduled policy changes the count from its start on', async () => {
    await strato.client.createFunction(inlineFunction('ri-cron', IDENTIFYING))
    const startTime = Math.ceil(Date.now() / 1000) + 3
    const set = await reserve(
      'ri-cron',
      0,
      new fg.CronConfig()
        .withName('every-second')
        .withCron('* * * * * ?')
        .withCount(2)
        .withStartTime(startTime)
        .withExpiredTime(0),
    )
    expect(set.tactics_config.cron_configs).toEqual([
      {
        name: 'every-second',
        cron: '* * * * * ?',
        count: 2,
        start_time: startTime,
        expired_time: 0,
      },
    ])
    await sleep(1_500)
    expect(await reservedOf('ri-cron')).toBe(0)
    await waitFor(async () => (await reservedOf('ri-cron')) === 2, 30_000)
    expect(Date.now()).toBeGreaterThanOrEqual(startTime * 1000)
    await reserve('ri-cron', 0)
  }, 60_000)

  test('a code change moves the reservation to the new revision; an alias is reserved for its version; a start that keeps failing backs off and says so', async () => {
    await strato.client.createFunction(inlineFunction('ri-change', IDENTIFYING))
    await reserve('ri-change', 1)
    await waitFor(async () => (await reservedOf('ri-change')) === 1, 30_000)
    const first = await invoke('ri-change')
    await strato.client.updateCode('ri-change', {
      code_type: 'inline',
      func_code: { file: Buffer.from(IDENTIFYING + '\n// v2\n').toString('base64') },
    })
    const changedAt = Date.now()
    // The next tick starts one on the new revision, before any call.
    await waitFor(
      async () =>
        (await reservedOf('ri-change')) === 1 && strato.running.pool.stats().starting === 0,
      30_000,
    )
    await sleep(100)
    const callAt = Date.now()
    const second = await invoke('ri-change')
    expect(second.id).not.toBe(first.id)
    expect(second.loadedAt).toBeGreaterThanOrEqual(changedAt)
    expect(second.loadedAt).toBeLessThan(callAt)
    await reserve('ri-change', 0)

    // Initialisation that always fails: every start fails, and the config says so.
    await strato.client.createFunction(
      inlineFunction(
        'ri-broken',
        "throw new Error('cannot load')\nexports.handler = async () => 1",
      ),
    )
    const published = await strato.client.publishVersion('ri-broken')
    await strato.client.createAlias('ri-broken', {
      name: 'prod',
      version: String(published.version),
    })
    await client.updateFunctionReservedInstancesCount(
      new fg.UpdateFunctionReservedInstancesCountRequest()
        .withFunctionUrn(urnOf('ri-broken', '!prod'))
        .withBody(new fg.UpdateFunctionReservedInstancesCountRequestBody().withCount(1)),
    )
    const statusOf = async (): Promise<Record<string, unknown> | undefined> => {
      const res = await strato.client.raw(
        'GET',
        `/v2/${PROJECT_ID}/fgs/functions/reservedinstanceconfigs?function_urn=${encodeURIComponent(`urn:fss:local-1:${PROJECT_ID}:function:default:ri-broken`)}`,
      )
      const body = JSON.parse(res.body.toString('utf8')) as {
        reserved_instances: Array<Record<string, unknown>>
      }
      expect(body.reserved_instances).toHaveLength(1)
      expect(body.reserved_instances[0]).toMatchObject({
        function_urn: urnOf('ri-broken', '!prod'),
        qualifier_type: 'alias',
        qualifier_name: 'prod',
        min_count: 1,
      })
      return body.reserved_instances[0]?.['strato_status'] as Record<string, unknown> | undefined
    }
    await waitFor(async () => Number((await statusOf())?.['failures']) >= 2, 30_000)
    const status = await statusOf()
    expect(status).toMatchObject({ target: 1, ready: 0 })
    // The function's config (of the alias) says so too.
    const shown = await client.showFunctionConfig(
      new fg.ShowFunctionConfigRequest().withFunctionUrn(urnOf('ri-broken', '!prod')),
    )
    expect(shown.reserved_instance_idle_mode).toBe(false)
    const raw = await strato.client.showConfig(urnOf('ri-broken', '!prod'))
    expect(raw).toMatchObject({
      reserved_instance_count: 1,
      strato_reserved_status: { target: 1, ready: 0 },
    })
    expect(String(status?.['last_error'])).toContain('could not start')
    expect(Date.parse(String(status?.['retry_at']))).toBeGreaterThan(Date.now())
    await client.updateFunctionReservedInstancesCount(
      new fg.UpdateFunctionReservedInstancesCountRequest()
        .withFunctionUrn(urnOf('ri-broken', '!prod'))
        .withBody(new fg.UpdateFunctionReservedInstancesCountRequestBody().withCount(0)),
    )
  }, 90_000)

  test('a reservation comes back after a restart', async () => {
    const dataDir = strato.dataDir
    await strato.client.createFunction(inlineFunction('ri-restart', IDENTIFYING))
    await reserve('ri-restart', 1)
    await waitFor(async () => (await reservedOf('ri-restart')) === 1, 30_000)
    await strato.running.close()
    const again = await startTestStrato(
      { STRATO_IDLE_TTL_MS: String(IDLE_TTL_MS), STRATO_STEM_CELLS: '0' },
      dataDir,
    )
    const previous = strato
    strato = {
      ...again,
      close: async () => {
        await again.close()
        await previous.close()
      },
    }
    client = sdkClient(strato.url)
    await waitFor(async () => (await reservedOf('ri-restart')) === 1, 30_000)
  }, 90_000)
})

describe('dynamic memory', () => {
  test('X-Cff-Instance-Memory runs the request on an instance of that size; a size FunctionGraph does not offer is FSS.0406', async () => {
    await strato.client.createFunction(
      inlineFunction('dm-sized', IDENTIFYING, { enable_dynamic_memory: true }),
    )
    const plain = await invoke('dm-sized')
    expect(plain).toMatchObject({ env: '128', memory: '128' })
    const big = await invoke('dm-sized', {}, '512')
    expect(big).toMatchObject({ env: '512', memory: '512' })
    expect(big.id).not.toBe(plain.id)
    // Each size keeps its own warm instances.
    expect((await invoke('dm-sized', {}, '512')).id).toBe(big.id)
    expect((await invoke('dm-sized')).id).toBe(plain.id)
    const err = await sdkError(invoke('dm-sized', {}, '300'))
    expect(err.httpStatusCode).toBe(406)
    expect(err.errorCode).toBe('FSS.0406')

    // Without enable_dynamic_memory the header is ignored, as on FunctionGraph.
    await strato.client.createFunction(inlineFunction('dm-fixed', IDENTIFYING))
    expect(await invoke('dm-fixed', {}, '512')).toMatchObject({ env: '128', memory: '128' })
  }, 60_000)
})
