/**
 * Reserved instances with fakes (no processes): the pool keeps them past the idle TTL and hands
 * them out first; the keeper starts them from stored configs, follows cron policies, replaces the
 * ones that die and backs off when they keep dying; dynamic memory pools sizes apart.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import {
  type FunctionRecord,
  type InvocationRequest,
  type ReservedInstanceConfig,
  type ReservedInstanceRepository,
} from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { FakeLauncher, functionRecordOf as fnOf } from '../../test/helpers/fakes.js'
import { InstancePool } from './instance-pool.js'
import { ReservationKeeper } from './reservation-keeper.js'
import { checkReservedCron, reservedCountAt } from './reserved-schedule.js'

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const IDLE_TTL_MS = 60_000

let launcher: FakeLauncher
let pool: InstancePool
let keeper: ReservationKeeper | undefined
let deaths: Array<[string, string]>

function requestOf(
  requestId: string,
  fn: FunctionRecord,
  memorySizeMb?: number,
): InvocationRequest {
  return {
    fn,
    version: fn.version,
    alias: '',
    requestId,
    payload: Buffer.from('{}'),
    invokeType: 'sync',
    ...(memorySizeMb === undefined ? {} : { memorySizeMb }),
  }
}

function configOf(
  fn: FunctionRecord,
  over: Partial<ReservedInstanceConfig> = {},
): ReservedInstanceConfig {
  return {
    projectId: fn.projectId,
    functionId: fn.id,
    qualifierType: 'version',
    qualifier: 'latest',
    count: 2,
    idleMode: false,
    cronPolicies: [],
    metricPolicies: [],
    updatedAt: new Date(),
    ...over,
  }
}

/** An in-memory repository holding these configs (the SQLite one has its contract test). */
function repoOf(configs: ReservedInstanceConfig[]): ReservedInstanceRepository {
  return {
    get: (functionId, qualifier) =>
      Promise.resolve(
        configs.find((c) => c.functionId === functionId && c.qualifier === qualifier),
      ),
    put: () => Promise.reject(new Error('not used')),
    delete: () => Promise.resolve(false),
    listOf: (projectId) => Promise.resolve(configs.filter((c) => c.projectId === projectId)),
    listAll: () => Promise.resolve([...configs]),
    deleteAllOf: () => Promise.resolve(),
  }
}

function startKeeper(fn: FunctionRecord, configs: ReservedInstanceConfig[]): Promise<void> {
  keeper = new ReservationKeeper({
    pool,
    configs: repoOf(configs),
    resolve: () => Promise.resolve(fn),
    logger: createLogger('silent'),
    tickMs: 1_000,
    baseBackoffMs: 1_000,
    maxBackoffMs: 8_000,
  })
  return keeper.start()
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  })
  launcher = new FakeLauncher()
  deaths = []
  pool = new InstancePool({
    launcher,
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: () => undefined },
    logger: createLogger('silent'),
    region: 'r1',
    idleTtlMs: IDLE_TTL_MS,
    queueWaitMs: 1_000,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    onReservedExit: (functionId, version) => {
      deaths.push([functionId, version])
      keeper?.instanceDied(functionId, version)
    },
  })
})

afterEach(async () => {
  keeper?.stop()
  keeper = undefined
  await pool.close()
  vi.useRealTimers()
})

describe('reserved instances in the pool', () => {
  test('reserved instances outlive the idle TTL and serve before on-demand ones', async () => {
    const fn = fnOf()
    await pool.startReserved(fn)
    expect(pool.reservedCount(fn)).toBe(1)
    // An on-demand instance next to it, used after it (the most recently used).
    const a = pool.invoke(requestOf('a', fn))
    const b = pool.invoke(requestOf('b', fn))
    await flush()
    launcher.serving('a').finish('a')
    launcher.serving('b').finish('b')
    await Promise.all([a, b])
    expect(launcher.instances).toHaveLength(2)
    const reserved = launcher.instances[0]
    // Reserved first, though the on-demand one was used last.
    const c = pool.invoke(requestOf('c', fn))
    await flush()
    expect(launcher.serving('c')).toBe(reserved)
    launcher.serving('c').finish('c')
    await c
    await vi.advanceTimersByTimeAsync(IDLE_TTL_MS * 3)
    expect(reserved?.stopped).toBe(false)
    expect(launcher.instances[1]?.stopped).toBe(true)
    expect(pool.instanceCounts().get(fn.id)).toEqual({ instances: 1, reserved: 1 })
  })

  test('unreserve turns them into on-demand instances that age out; a death is reported', async () => {
    const fn = fnOf()
    await pool.startReserved(fn)
    await pool.startReserved(fn)
    launcher.instances[0]?.crash()
    expect(deaths).toEqual([[fn.id, 'latest']])
    pool.unreserve(fn, 1)
    expect(pool.reservedCount(fn)).toBe(0)
    await vi.advanceTimersByTimeAsync(IDLE_TTL_MS * 2)
    expect(launcher.instances[1]?.stopped).toBe(true)
    // Stopped by Strato, not dead on its own: no report.
    expect(deaths).toHaveLength(1)
  })

  test('dynamic memory: each size has its own instances, launched with that size', async () => {
    const fn = fnOf({ memorySizeMb: 128 })
    const run = async (id: string, mb?: number): Promise<void> => {
      const p = pool.invoke(requestOf(id, fn, mb))
      await flush()
      launcher.serving(id).finish(id)
      await p
    }
    await run('plain')
    await run('big', 512)
    await run('big-again', 512)
    await run('plain-again')
    expect(launcher.instances.map((i) => i.request.memorySizeMb)).toEqual([128, 512])
    expect(launcher.instances[1]?.served).toEqual(['big', 'big-again'])
    expect(launcher.instances[0]?.served).toEqual(['plain', 'plain-again'])
  })
})

describe('ReservationKeeper', () => {
  test('starts the stored count at start and replaces an instance that dies', async () => {
    const fn = fnOf()
    await startKeeper(fn, [configOf(fn, { count: 2 })])
    await flush()
    expect(pool.reservedCount(fn)).toBe(2)
    launcher.instances[0]?.crash()
    await flush()
    await flush()
    expect(pool.reservedCount(fn)).toBe(2)
    expect(launcher.instances).toHaveLength(3)
    expect(keeper?.status(fn.id, 'latest')).toMatchObject({ target: 2, ready: 2, failures: 1 })
  })

  test('an instance that keeps dying is replaced with a growing back-off, shown in its status', async () => {
    const fn = fnOf()
    await startKeeper(fn, [configOf(fn, { count: 1 })])
    await flush()
    const died = async (): Promise<void> => {
      launcher.instances[launcher.instances.length - 1]?.crash()
      await flush()
      await flush()
    }
    await died() // 1st death: replaced at once
    expect(launcher.instances).toHaveLength(2)
    await died() // 2nd: 1 s
    expect(launcher.instances).toHaveLength(2)
    expect(keeper?.status(fn.id, 'latest')).toMatchObject({ failures: 2, ready: 0 })
    expect(keeper?.status(fn.id, 'latest')?.lastError).toContain('exited')
    await vi.advanceTimersByTimeAsync(1_000)
    await flush()
    expect(launcher.instances).toHaveLength(3)
    await died() // 3rd: 2 s
    await vi.advanceTimersByTimeAsync(1_000)
    await flush()
    expect(launcher.instances).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(1_000)
    await flush()
    expect(launcher.instances).toHaveLength(4)
  })

  test('a failed start backs off too', async () => {
    const fn = fnOf()
    launcher.nextFailure = new Error('no room')
    await startKeeper(fn, [configOf(fn, { count: 1 })])
    await flush()
    expect(keeper?.status(fn.id, 'latest')).toMatchObject({ failures: 1, ready: 0 })
    expect(keeper?.status(fn.id, 'latest')?.lastError).toContain('no room')
    // Nothing is left of the failed start: its code is not held as in use.
    expect(pool.digestsInUse().size).toBe(0)
    await vi.advanceTimersByTimeAsync(1_000)
    await flush()
    expect(pool.reservedCount(fn)).toBe(1)
  })

  test('the minute metrics count instances and reserved ones apart', async () => {
    const fn = fnOf()
    await startKeeper(fn, [configOf(fn, { count: 1 })])
    await flush()
    await vi.advanceTimersByTimeAsync(1_000)
    const m = keeper?.metricsOf(fn.id, Date.now())
    expect(m?.reservedInstanceNum.at(-1)?.value).toBe(1)
    expect(m?.instanceNum.at(-1)?.value).toBe(1)
    expect(m?.instanceNum).toHaveLength(60)
    expect(m?.instanceNum[0]?.value).toBe(0)
  })
})

describe('scheduled policies', () => {
  const base = { count: 1, idleMode: false, metricPolicies: [] }
  const at = (iso: string): number => Date.parse(iso)

  test('the policy that fired last within its window sets the count; none: the base count', () => {
    const input = {
      ...base,
      cronPolicies: [
        { name: 'day', cron: '0 0 8 * * ?', count: 5, startTime: 0, expiredTime: 0 },
        { name: 'night', cron: '0 0 20 * * ?', count: 0, startTime: 0, expiredTime: 0 },
      ],
    }
    expect(reservedCountAt(input, at('2026-12-06T09:00:00Z'))).toBe(5)
    expect(reservedCountAt(input, at('2026-12-06T21:00:00Z'))).toBe(0)
    expect(reservedCountAt(input, at('2026-12-07T07:59:59Z'))).toBe(0)
    expect(reservedCountAt(input, at('2026-12-07T08:00:00Z'))).toBe(5)
  })

  test('start and expiry bound a policy; five fields mean seconds first without day of week', () => {
    const start = at('2026-12-06T10:00:00Z') / 1000
    const input = {
      ...base,
      cronPolicies: [
        { name: 'p', cron: '0 * * * *', count: 3, startTime: start, expiredTime: start + 3600 },
      ],
    }
    expect(reservedCountAt(input, at('2026-12-06T09:59:00Z'))).toBe(1)
    expect(reservedCountAt(input, at('2026-12-06T10:30:00Z'))).toBe(3)
    expect(reservedCountAt(input, at('2026-12-06T11:00:00Z'))).toBe(1)
    expect(() => checkReservedCron('0 0 8 * * ?')).not.toThrow()
    expect(() => checkReservedCron('every day')).toThrow()
    expect(() => checkReservedCron('0 0 0 30 2 ?')).toThrow()
  })

  test('cluster mode: only the leader keeps reservations; losing the lease hands them back', async () => {
    const fn = fnOf()
    const keeperOf = new ReservationKeeper({
      pool,
      configs: repoOf([configOf(fn, { count: 2 })]),
      resolve: () => Promise.resolve(fn),
      logger: createLogger('silent'),
      tickMs: 1_000,
    })
    keeper = keeperOf
    await keeperOf.setActive(false)
    await keeperOf.start()
    await flush()
    expect(pool.reservedCount(fn)).toBe(0)
    await keeperOf.setActive(true)
    await flush()
    expect(pool.reservedCount(fn)).toBe(2)
    await keeperOf.setActive(false)
    expect(pool.reservedCount(fn)).toBe(0)
    expect(pool.stats().idle).toBe(2) // on-demand now: they age out as usual
  })

  test('cluster mode: an instance still starting when the lease goes is not kept reserved', async () => {
    const fn = fnOf()
    const keeperOf = new ReservationKeeper({
      pool,
      configs: repoOf([configOf(fn, { count: 2 })]),
      resolve: () => Promise.resolve(fn),
      logger: createLogger('silent'),
      tickMs: 1_000,
    })
    keeper = keeperOf
    await keeperOf.setActive(false)
    await keeperOf.start()
    launcher.manual = true
    await keeperOf.setActive(true) // launches begin
    await flush()
    expect(launcher.pending.length).toBeGreaterThan(0)
    await keeperOf.setActive(false) // before they finished
    for (const p of launcher.pending.splice(0)) {
      p.start()
    }
    await flush()
    expect(pool.reservedCount(fn)).toBe(0)
  })
})
