/**
 * InstancePool with fakes of its slices (no processes): hand-off, warm reuse, idle eviction, max
 * instances, the cold-start cap, waiter cancellation, retirement and crashes. Time is faked
 * (timers and Date); `flush()` lets every pending promise chain run.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import {
  StratoError,
  type FunctionRecord,
  type InvocationRecord,
  type InvocationRequest,
  type InvocationResult,
} from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { FunctionFailure } from '../runtime/index.js'
import {
  FakeLauncher,
  functionRecordOf as fnOf,
  presence,
  track,
} from '../../test/helpers/fakes.js'
import { InstancePool, type InstancePoolOptions } from './instance-pool.js'

/** Lets every promise chain that is ready run (timers are fake; setImmediate is real). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const IDLE_TTL_MS = 60_000
const QUEUE_WAIT_MS = 1_000

function requestOf(
  requestId: string,
  fn: FunctionRecord,
  extra: Partial<InvocationRequest> = {},
): InvocationRequest {
  return {
    fn,
    version: fn.version,
    alias: '',
    requestId,
    payload: Buffer.from('{}'),
    invokeType: 'sync',
    ...extra,
  }
}

let launcher: FakeLauncher
let logs: Array<{ record: InvocationRecord; functionId: string }>
let pool: InstancePool

function openPool(over: Partial<InstancePoolOptions> = {}): InstancePool {
  pool = new InstancePool({
    launcher,
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: (record, _projectId, functionId) => logs.push({ record, functionId }) },
    logger: createLogger('silent'),
    region: 'r1',
    idleTtlMs: IDLE_TTL_MS,
    queueWaitMs: QUEUE_WAIT_MS,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    ...over,
  })
  return pool
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  })
  launcher = new FakeLauncher()
  logs = []
})

afterEach(async () => {
  await pool.close()
  vi.useRealTimers()
})

describe('InstancePool (fakes, no processes)', () => {
  test('a released instance is handed to the first waiter, not put back idle', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    const a = track(pool.invoke(requestOf('a', fn)))
    await flush()
    const b = track(pool.invoke(requestOf('b', fn)))
    const c = track(pool.invoke(requestOf('c', fn)))
    await flush()
    expect(launcher.instances).toHaveLength(1)
    const only = launcher.serving('a')
    expect(only.served).toEqual(['a'])

    only.finish('a')
    await flush()
    expect(a.value?.kind).toBe('success')
    expect(only.served).toEqual(['a', 'b'])
    expect(pool.stats()).toEqual({ idle: 0, busy: 1, starting: 0, reserved: 0 })
    only.finish('b')
    await flush()
    only.finish('c')
    await flush()
    expect([b.value?.kind, c.value?.kind]).toEqual(['success', 'success'])
    expect(launcher.instances).toHaveLength(1)
    expect(pool.stats()).toEqual({ idle: 1, busy: 0, starting: 0, reserved: 0 })
    expect(logs.map((l) => l.record.requestId)).toEqual(['a', 'b', 'c'])
  })

  test('warm reuse: the most recently used idle instance serves next, without a start', async () => {
    openPool()
    const fn = fnOf()
    const a = track(pool.invoke(requestOf('a', fn)))
    const b = track(pool.invoke(requestOf('b', fn)))
    await flush()
    expect(launcher.instances).toHaveLength(2)
    const first = launcher.serving('a')
    const second = launcher.serving('b')
    second.finish('b')
    await flush()
    vi.advanceTimersByTime(10)
    first.finish('a')
    await flush()
    expect([a.settled, b.settled]).toEqual([true, true])
    expect(pool.stats()).toEqual({ idle: 2, busy: 0, starting: 0, reserved: 0 })

    const c = track(pool.invoke(requestOf('c', fn)))
    await flush()
    expect(launcher.serving('c')).toBe(first)
    expect(launcher.instances).toHaveLength(2)
    first.finish('c')
    await flush()
    expect(c.value?.kind).toBe('success')
  })

  test('an instance already serving takes another request while it has a free slot', async () => {
    openPool()
    const fn = fnOf({ concurrentNum: 2 })
    track(pool.invoke(requestOf('a', fn)))
    await flush()
    track(pool.invoke(requestOf('b', fn)))
    track(pool.invoke(requestOf('c', fn)))
    await flush()
    const first = launcher.serving('a')
    expect(first.served).toEqual(['a', 'b'])
    expect(launcher.instances).toHaveLength(2)
    expect(launcher.serving('c')).not.toBe(first)
  })

  test('idle instances stop once idle longer than the TTL; the next call starts a new one', async () => {
    openPool()
    const fn = fnOf()
    track(pool.invoke(requestOf('a', fn)))
    await flush()
    const first = launcher.serving('a')
    first.finish('a')
    await flush()
    expect(pool.stats().idle).toBe(1)

    await vi.advanceTimersByTimeAsync(IDLE_TTL_MS - 1_000)
    expect(first.stopped).toBe(false)
    expect(pool.stats().idle).toBe(1)
    // The reaper runs every 5 s: within one period past the TTL the instance is gone.
    await vi.advanceTimersByTimeAsync(6_000)
    await flush()
    expect(first.stopped).toBe(true)
    expect(pool.stats()).toEqual({ idle: 0, busy: 0, starting: 0, reserved: 0 })

    track(pool.invoke(requestOf('b', fn)))
    await flush()
    expect(launcher.instances).toHaveLength(2)
    expect(launcher.serving('b')).not.toBe(first)
  })

  test('max instances: starts up to the cap, queues the rest, 429 once the queue wait runs out', async () => {
    openPool({ maxInstancesPerFunction: 3 })
    const fn = fnOf({ maxInstances: -1 })
    const calls = ['a', 'b', 'c', 'd', 'e'].map((id) => track(pool.invoke(requestOf(id, fn))))
    await flush()
    expect(launcher.instances).toHaveLength(3)
    expect(pool.stats()).toEqual({ idle: 0, busy: 3, starting: 0, reserved: 0 })

    await vi.advanceTimersByTimeAsync(QUEUE_WAIT_MS - 1)
    expect(calls.map((c) => c.settled)).toEqual([false, false, false, false, false])
    await vi.advanceTimersByTimeAsync(1)
    await flush()
    for (const waiting of calls.slice(3)) {
      expect(waiting.error).toBeInstanceOf(StratoError)
      expect((waiting.error as StratoError).code).toBe('TOO_MANY_REQUESTS')
      expect((waiting.error as StratoError).spec.status).toBe(429)
    }
    // A timed-out request never runs, and no log entry is written for it.
    launcher.serving('a').finish('a')
    await flush()
    expect(launcher.instances.flatMap((i) => i.served).sort()).toEqual(['a', 'b', 'c'])
    expect(logs.map((l) => l.record.requestId)).toEqual(['a'])
  })

  test("the function's own max instances applies below the platform cap; 0 disables it", async () => {
    openPool({ maxInstancesPerFunction: 3 })
    const fn = fnOf({ maxInstances: 2 })
    ;['a', 'b', 'c'].forEach((id) => track(pool.invoke(requestOf(id, fn))))
    await flush()
    expect(launcher.instances).toHaveLength(2)
    await expect(
      pool.invoke(requestOf('x', fnOf({ id: 'f2', maxInstances: 0 }))),
    ).rejects.toMatchObject({ code: 'FUNCTION_DISABLED' })
  })

  test('cold starts: at most 4 start at once; each start that ends begins the next', async () => {
    launcher.manual = true
    openPool()
    const fn = fnOf()
    const calls = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => track(pool.invoke(requestOf(id, fn))))
    await flush()
    expect(launcher.pending).toHaveLength(4)
    expect(pool.stats()).toEqual({ idle: 0, busy: 0, starting: 4, reserved: 0 })

    launcher.pending[0]?.start()
    await flush()
    expect(launcher.instances[0]?.served).toEqual(['a'])
    expect(launcher.pending).toHaveLength(5)
    expect(pool.stats()).toEqual({ idle: 0, busy: 1, starting: 4, reserved: 0 })
    launcher.pending[1]?.start()
    await flush()
    expect(launcher.pending).toHaveLength(6)
    for (const p of launcher.pending.slice(2)) {
      p.start()
    }
    await flush()
    expect(launcher.instances.flatMap((i) => i.served).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
    ])
    expect(calls.every((c) => !c.settled)).toBe(true)
  })

  test('a waiter whose caller goes away leaves the queue and never runs', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    track(pool.invoke(requestOf('a', fn)))
    await flush()
    const away = presence()
    const b = track(pool.invoke(requestOf('b', fn, { caller: away.caller })))
    await flush()
    expect(away.watchers()).toBe(1)

    away.leave()
    await flush()
    expect((b.error as StratoError).code).toBe('CLIENT_CLOSED')
    expect(away.watchers()).toBe(0)
    const only = launcher.serving('a')
    only.finish('a')
    await vi.advanceTimersByTimeAsync(QUEUE_WAIT_MS)
    expect(only.served).toEqual(['a'])
    expect(pool.stats()).toEqual({ idle: 1, busy: 0, starting: 0, reserved: 0 })
    expect(logs.map((l) => l.record.requestId)).toEqual(['a'])
  })

  test('a caller gone while its instance starts never runs; the instance stays warm', async () => {
    launcher.manual = true
    openPool()
    const away = presence()
    const a = track(pool.invoke(requestOf('a', fnOf(), { caller: away.caller })))
    await flush()
    away.leave()
    launcher.pending[0]?.start()
    await flush()
    expect((a.error as StratoError).code).toBe('CLIENT_CLOSED')
    expect(launcher.instances[0]?.served).toEqual([])
    expect(pool.stats()).toEqual({ idle: 1, busy: 0, starting: 0, reserved: 0 })
    // Gone before it asked: not even a start.
    await expect(
      pool.invoke(requestOf('b', fnOf(), { caller: away.caller })),
    ).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
    expect(launcher.instances).toHaveLength(1)
  })

  test('a retired revision serves the requests queued for it, then stops; the new one starts fresh', async () => {
    openPool()
    const rev1 = fnOf({ maxInstances: 1, revision: 1, handler: 'old.handler' })
    const rev2 = fnOf({ maxInstances: 1, revision: 2, handler: 'new.handler' })
    track(pool.invoke(requestOf('a', rev1)))
    await flush()
    const old = launcher.serving('a')
    const b = track(pool.invoke(requestOf('b', rev1)))
    const c = track(pool.invoke(requestOf('c', rev2)))
    await flush()
    expect(launcher.instances).toHaveLength(1)

    old.finish('a')
    await flush()
    expect(old.served).toEqual(['a', 'b'])
    old.finish('b')
    await flush()
    expect(b.value?.kind).toBe('success')
    expect(old.stopped).toBe(true)

    // The retired instance's room goes to the new revision, on a new instance with its config.
    const d = track(pool.invoke(requestOf('d', rev2)))
    await flush()
    const fresh = launcher.serving('d')
    expect(fresh.request.handler).toBe('new.handler')
    fresh.finish('d')
    await flush()
    expect(fresh.served).toEqual(['d', 'c'])
    fresh.finish('c')
    await flush()
    expect([c.value?.kind, d.value?.kind]).toEqual(['success', 'success'])
  })

  test('a deleted function: requests waiting for its instance end FUNCTION_NOT_FOUND and never run', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    const a = track(pool.invoke(requestOf('a', fn)))
    await flush()
    const b = track(pool.invoke(requestOf('b', fn)))
    await flush()

    await pool.forget(fn.id, undefined, { deleted: true })
    await flush()
    expect((b.error as StratoError).code).toBe('FUNCTION_NOT_FOUND')
    const only = launcher.serving('a')
    only.finish('a') // the invocation already running still ends normally
    await flush()
    expect(a.value?.kind).toBe('success')
    expect(only.served).toEqual(['a'])
    expect(only.stopped).toBe(true)
    expect(logs.map((l) => l.record.requestId)).toEqual(['a'])
  })

  test('a changed function: requests already waiting still run on the revision they were accepted for', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    track(pool.invoke(requestOf('a', fn)))
    await flush()
    const b = track(pool.invoke(requestOf('b', fn)))
    await flush()

    await pool.forget(fn.id, 'latest')
    const only = launcher.serving('a')
    only.finish('a')
    await flush()
    expect(only.served).toEqual(['a', 'b'])
    only.finish('b')
    await flush()
    expect(b.value?.kind).toBe('success')
  })

  test('a newer revision stops the idle instances of the old one at once', async () => {
    openPool()
    track(pool.invoke(requestOf('a', fnOf({ revision: 1 }))))
    await flush()
    const old = launcher.serving('a')
    old.finish('a')
    await flush()
    track(pool.invoke(requestOf('b', fnOf({ revision: 2 }))))
    await flush()
    expect(old.stopped).toBe(true)
    expect(old.served).toEqual(['a'])
    expect(launcher.serving('b')).not.toBe(old)
  })

  test('a crashed instance is forgotten: its call fails as the function, the next gets a new one', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    const a = track(pool.invoke(requestOf('a', fn)))
    await flush()
    const b = track(pool.invoke(requestOf('b', fn)))
    await flush()
    const crashed = launcher.serving('a')
    crashed.crash()
    await flush()
    expect(a.value?.kind).toBe('function-error')
    expect(a.value?.record.errorType).toBe('RuntimeExitError')
    // The request waiting for the dead instance gets a replacement at once.
    expect(launcher.instances).toHaveLength(2)
    const replacement = launcher.serving('b')
    expect(replacement).not.toBe(crashed)
    replacement.finish('b')
    await flush()
    expect((b.value as InvocationResult).kind).toBe('success')

    replacement.crash() // idle this time
    await flush()
    expect(pool.stats()).toEqual({ idle: 0, busy: 0, starting: 0, reserved: 0 })
    track(pool.invoke(requestOf('c', fn)))
    await flush()
    expect(launcher.instances).toHaveLength(3)
  })

  test("a start the code fails is the function's outcome, logged; a platform failure is thrown", async () => {
    openPool()
    launcher.nextFailure = new FunctionFailure('InitError', 'init failed', 'init log')
    const result = await pool.invoke(requestOf('a', fnOf()))
    expect(result.kind).toBe('function-error')
    expect(result.record).toMatchObject({ errorType: 'InitError', output: 'init log' })
    expect(logs.map((l) => l.record.requestId)).toEqual(['a'])

    launcher.nextFailure = new StratoError('INSTANCE_START_FAILED', 'no interpreter')
    await expect(pool.invoke(requestOf('b', fnOf()))).rejects.toThrow('no interpreter')
    expect(logs).toHaveLength(1)
    expect(pool.stats()).toEqual({ idle: 0, busy: 0, starting: 0, reserved: 0 })
  })

  test('close rejects the waiters and stops every instance', async () => {
    openPool()
    const fn = fnOf({ maxInstances: 1 })
    track(pool.invoke(requestOf('a', fn)))
    await flush()
    const b = track(pool.invoke(requestOf('b', fn)))
    await flush()
    await pool.close()
    await flush()
    expect((b.error as StratoError).code).toBe('SERVICE_UNAVAILABLE')
    expect(launcher.instances.every((i) => i.stopped)).toBe(true)
    await expect(pool.invoke(requestOf('c', fn))).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    })
  })
})
