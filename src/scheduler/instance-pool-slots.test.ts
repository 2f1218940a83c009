/**
 * InstancePool in cluster mode: a slot is claimed before each launch and given back when the
 * instance is gone; no slot is touched on a warm request; with every slot held elsewhere a request
 * waits as at the local max (429 after the queue wait) and starts once a slot frees up. The slots
 * here are a shared table standing in for the KV bucket (src/cluster tests the real one).
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import type { FunctionRecord, InvocationRequest } from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { FakeLauncher, functionRecordOf as fnOf, track } from '../../test/helpers/fakes.js'
import { InstancePool } from './instance-pool.js'
import type { InstanceSlotClaims } from './pool-ports.js'

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const QUEUE_WAIT_MS = 1_000

/** `held` slots of one function, by holder; `claims` counts calls. */
class SlotTable implements InstanceSlotClaims {
  readonly held: string[] = []
  claims = 0
  /** The function id of each claim. */
  readonly claimedFor: string[] = []
  claim(functionId: string, max: number) {
    this.claims++
    this.claimedFor.push(functionId)
    if (this.held.length >= max) {
      return Promise.resolve(undefined)
    }
    this.held.push('here')
    return Promise.resolve({
      release: () => {
        this.held.splice(this.held.indexOf('here'), 1)
        return Promise.resolve()
      },
    })
  }
}

const requestOf = (requestId: string, fn: FunctionRecord): InvocationRequest => ({
  fn,
  version: fn.version,
  alias: '',
  requestId,
  payload: Buffer.from('{}'),
  invokeType: 'sync',
})

let launcher: FakeLauncher
let slots: SlotTable
let pool: InstancePool

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  })
  launcher = new FakeLauncher()
  slots = new SlotTable()
  pool = new InstancePool({
    launcher,
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: () => undefined },
    logger: createLogger('silent'),
    region: 'r1',
    idleTtlMs: 60_000,
    queueWaitMs: QUEUE_WAIT_MS,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    slots,
  })
})

afterEach(async () => {
  await pool.close()
  vi.useRealTimers()
})

test('slots: claimed at launch, untouched on warm requests, given back when the instance ends', async () => {
  const fn = fnOf({ maxInstances: 2 })
  const a = track(pool.invoke(requestOf('a', fn)))
  await flush()
  expect(slots.claims).toBe(1)
  expect(slots.held).toEqual(['here'])
  launcher.serving('a').finish('a')
  await flush()
  expect(a.value?.kind).toBe('success')
  const b = track(pool.invoke(requestOf('b', fn)))
  await flush()
  launcher.serving('b').finish('b')
  await flush()
  expect(b.value?.kind).toBe('success')
  expect(slots.claims).toBe(1) // warm: no round trip
  await launcher.instances[0]?.stop()
  await flush()
  expect(slots.held).toEqual([])
})

test('slots: every slot held elsewhere: the request waits, then 429 after the queue wait', async () => {
  slots.held.push('other', 'other')
  const fn = fnOf({ maxInstances: 2 })
  const a = track(pool.invoke(requestOf('a', fn)))
  await flush()
  expect(launcher.instances).toHaveLength(0)
  expect(a.settled).toBe(false)
  for (let t = 0; t < QUEUE_WAIT_MS; t += 250) {
    vi.advanceTimersByTime(250)
    await flush()
  }
  expect(a.settled).toBe(true)
  expect(a.error).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
  expect(slots.claims).toBeGreaterThan(1) // tried again while it waited
})

test('slots: a slot another node frees while the request waits starts its instance', async () => {
  slots.held.push('other', 'other')
  const fn = fnOf({ maxInstances: 2 })
  const a = track(pool.invoke(requestOf('a', fn)))
  await flush()
  slots.held.pop()
  vi.advanceTimersByTime(300)
  await flush()
  await flush()
  expect(launcher.instances).toHaveLength(1)
  launcher.serving('a').finish('a')
  await flush()
  expect(a.value?.kind).toBe('success')
})

test('slots: a start failing for another reason fails the first waiter; the next gets its own start', async () => {
  slots.held.push('other', 'other')
  const fn = fnOf({ maxInstances: 2 })
  const a = track(pool.invoke(requestOf('a', fn)))
  const b = track(pool.invoke(requestOf('b', fn)))
  await flush()
  expect(launcher.instances).toHaveLength(0)
  slots.held.pop()
  launcher.nextFailure = new Error('image pull failed')
  for (let t = 0; t < 600; t += 100) {
    vi.advanceTimersByTime(100)
    await flush()
    await flush()
  }
  expect(a.error).toMatchObject({ message: 'image pull failed' })
  // Well before the queue wait: b is not left waiting for a retry nobody scheduled.
  expect(launcher.instances).toHaveLength(1)
  launcher.serving('b').finish('b')
  await flush()
  expect(b.value?.kind).toBe('success')
})

test('slots: every version of a function claims from the slots of its function, whose max counts them all', async () => {
  const latest = fnOf({ maxInstances: 2 })
  const v1 = fnOf({ maxInstances: 2, version: '1', revision: 2 })
  const a = track(pool.invoke(requestOf('a', latest)))
  const b = track(pool.invoke(requestOf('b', v1)))
  await flush()
  launcher.serving('a').finish('a')
  launcher.serving('b').finish('b')
  await flush()
  expect(a.value?.kind).toBe('success')
  expect(b.value?.kind).toBe('success')
  expect(slots.claimedFor).toEqual([latest.id, latest.id])
  expect(slots.held).toHaveLength(2)
})
