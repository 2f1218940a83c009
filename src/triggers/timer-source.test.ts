import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { createLogger } from '../observability/index.js'
import type { FunctionRecord, TimerEventData, TriggerRecord, TriggerStatus } from '../core/index.js'
import type { TriggerHealthReport, TriggerSourceContext } from './trigger-source.js'
import { TimerSource, tickRequestId } from './timer-source.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')

type TimerTrigger = Extract<TriggerRecord, { typeCode: 'TIMER' }>

function timer(
  id: string,
  data: Partial<TimerEventData> = {},
  status: TriggerStatus = 'ACTIVE',
  updatedAtMs = T0,
): TimerTrigger {
  return {
    id,
    projectId: 'p',
    functionId: 'f',
    qualifier: 'latest',
    functionUrn: 'urn:fss:r:p:function:default:f:latest',
    typeCode: 'TIMER',
    status,
    eventTypeCode: '',
    eventData: { name: 'tick', schedule_type: 'Cron', schedule: '*/2 * * * * ?', ...data },
    createdAt: new Date(updatedAtMs),
    updatedAt: new Date(updatedAtMs),
  }
}

/**
 * What the source is given, in memory: the queue ignores an id it already holds (as the store's
 * does), cursors survive "restarts" (a new source on the same fake), and `failNext` makes the
 * next enqueue or cursor save throw.
 */
class FakeWorld {
  readonly triggers: TriggerRecord[] = []
  readonly queue = new Map<string, { payload: unknown; trigger: string }>()
  readonly accepted: string[] = []
  readonly cursors = new Map<string, string>()
  readonly health: Array<[string, TriggerHealthReport]> = []
  failNextEnqueue = false
  failNextCursorSave = false

  context(): TriggerSourceContext {
    return {
      loadTriggers: () => Promise.resolve(this.triggers.filter((t) => t.status === 'ACTIVE')),
      functions: {
        resolve: () =>
          Promise.resolve({
            fn: { timeoutS: 3 } as FunctionRecord,
            latest: { timeoutS: 3 } as FunctionRecord,
            ref: { projectId: 'p', packageName: 'default', functionName: 'f' },
            alias: undefined,
          } as never),
      },
      invoker: {} as never,
      ownAttempts: {} as never,
      acceptAsync: (trigger, _fn, requestId, payload) => {
        if (this.failNextEnqueue) {
          this.failNextEnqueue = false
          return Promise.reject(new Error('queue is full'))
        }
        if (!this.queue.has(requestId)) {
          this.queue.set(requestId, {
            payload: JSON.parse(payload.toString()) as unknown,
            trigger: trigger.id,
          })
          this.accepted.push(requestId)
        }
        return Promise.resolve()
      },
      cursors: {
        cursorOf: (id) => Promise.resolve(this.cursors.get(id)),
        saveCursor: (id, cursor) => {
          if (this.failNextCursorSave) {
            this.failNextCursorSave = false
            return Promise.reject(new Error('crashed before the cursor was saved'))
          }
          this.cursors.set(id, cursor)
          return Promise.resolve()
        },
      },
      verifier: {} as never,
      authClockSkewMs: 0,
      logger: createLogger('silent'),
      reportHealth: (id, report) => this.health.push([id, report]),
    }
  }

  times(): string[] {
    return this.accepted.map((id) => (this.queue.get(id)?.payload as { time: string }).time)
  }
}

let sources: TimerSource[] = []

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(T0 + 500)
  sources = []
})

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()))
  vi.useRealTimers()
})

async function started(world: FakeWorld): Promise<TimerSource> {
  const source = new TimerSource()
  sources.push(source)
  await source.start(world.context())
  await vi.advanceTimersByTimeAsync(0)
  return source
}

test('a cron every 2 s fires each tick once, to the second, with the §6.2 event and a per-tick request id', async () => {
  const world = new FakeWorld()
  world.triggers.push(timer('t1', { user_event: 'hello' }))
  await started(world)
  await vi.advanceTimersByTimeAsync(6_000)
  expect(world.times()).toEqual([
    '2026-01-01T00:00:02+00:00',
    '2026-01-01T00:00:04+00:00',
    '2026-01-01T00:00:06+00:00',
  ])
  expect(world.queue.get(world.accepted[0] ?? '')?.payload).toEqual({
    version: 'v1.0',
    time: '2026-01-01T00:00:02+00:00',
    trigger_type: 'TIMER',
    trigger_name: 'tick',
    user_event: 'hello',
  })
  expect(world.accepted[0]).toBe(tickRequestId('t1', T0 + 2_000))
  expect(world.accepted[0]).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  )
  expect(world.cursors.get('t1')).toBe(String(T0 + 6_000))
})

test('a restart fires nothing twice and, after downtime, only the latest missed tick (one catch-up)', async () => {
  const world = new FakeWorld()
  world.triggers.push(timer('t1'))
  const first = await started(world)
  await vi.advanceTimersByTimeAsync(4_000)
  await first.stop()
  expect(world.times()).toEqual(['2026-01-01T00:00:02+00:00', '2026-01-01T00:00:04+00:00'])
  // Down from 00:00:04.5 to 00:00:11.5: ticks 06, 08 and 10 were missed.
  await vi.advanceTimersByTimeAsync(7_000)
  await started(world)
  await vi.advanceTimersByTimeAsync(1_000)
  expect(world.times()).toEqual([
    '2026-01-01T00:00:02+00:00',
    '2026-01-01T00:00:04+00:00',
    '2026-01-01T00:00:10+00:00',
    '2026-01-01T00:00:12+00:00',
  ])
})

test('a tick accepted but not yet recorded when Strato died is fired again under the same id: the queue keeps one', async () => {
  const world = new FakeWorld()
  world.triggers.push(timer('t1'))
  const first = await started(world)
  world.failNextCursorSave = true
  await vi.advanceTimersByTimeAsync(2_000)
  await first.stop()
  expect(world.cursors.get('t1')).toBeUndefined()
  await started(world)
  await vi.advanceTimersByTimeAsync(500)
  expect(world.times()).toEqual(['2026-01-01T00:00:02+00:00'])
  expect(world.cursors.get('t1')).toBe(String(T0 + 2_000))
})

test('disabling stops a timer at once, enabling starts it from then; deleting removes it', async () => {
  const world = new FakeWorld()
  const t = timer('t1')
  world.triggers.push(t)
  const source = await started(world)
  await vi.advanceTimersByTimeAsync(2_000)
  source.onChange({ kind: 'updated', trigger: { ...t, status: 'DISABLED' } })
  await vi.advanceTimersByTimeAsync(10_000)
  expect(world.times()).toEqual(['2026-01-01T00:00:02+00:00'])
  // Enabled at 00:00:12.5: the ticks it was disabled for never fire.
  source.onChange({
    kind: 'updated',
    trigger: { ...t, updatedAt: new Date(Date.now()) },
  })
  await vi.advanceTimersByTimeAsync(2_000)
  expect(world.times()).toEqual(['2026-01-01T00:00:02+00:00', '2026-01-01T00:00:14+00:00'])
  source.onChange({ kind: 'deleted', trigger: t })
  expect(source.armedCount).toBe(0)
  await vi.advanceTimersByTimeAsync(10_000)
  expect(world.accepted).toHaveLength(2)
})

test('a tick the queue refuses is retried and the trigger shows failing until it fires', async () => {
  const world = new FakeWorld()
  world.triggers.push(timer('t1', { schedule: '0 * * * * ?' }))
  await started(world)
  world.failNextEnqueue = true
  await vi.advanceTimersByTimeAsync(59_500)
  expect(world.health).toEqual([['t1', { ok: false, error: 'queue is full' }]])
  await vi.advanceTimersByTimeAsync(1_000)
  expect(world.times()).toEqual(['2026-01-01T00:01:00+00:00'])
  expect(world.health.at(-1)).toEqual(['t1', { ok: true }])
})

test('a Rate timer counts from when it took effect', async () => {
  const world = new FakeWorld()
  world.triggers.push(timer('r', { schedule_type: 'Rate', schedule: '1m' }, 'ACTIVE', T0 + 500))
  await started(world)
  await vi.advanceTimersByTimeAsync(120_000)
  expect(world.times()).toEqual(['2026-01-01T00:01:00+00:00', '2026-01-01T00:02:00+00:00'])
})
